package main

import (
	"crypto/sha256"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// FuzzRequestDigest: the request logger reads any body without panicking
// and always names something.
func FuzzRequestDigest(f *testing.F) {
	d := sha256.Sum256([]byte("x"))
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier([]int{2, 16, 840, 1, 101, 3, 4, 2, 1})
			})
			b.AddASN1OctetString(d[:])
		})
		b.AddASN1Int64(12345)
		b.AddASN1Boolean(true)
	})
	req := b.BytesOrPanic()
	if got := requestDigest(req); got != "SHA-256" {
		f.Fatalf("requestDigest of a SHA-256 request = %q", got)
	}
	f.Add(req)
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		if requestDigest(body) == "" {
			t.Fatal("empty name")
		}
	})
}
