package cms

import (
	"crypto"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	key := testKeys(b)["p256"]
	cert := selfSigned(b, key, "bench")
	der, err := Sign(digestOf(crypto.SHA256, content), key, cert, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(der)))
	for b.Loop() {
		if _, err := Parse(der); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignatureP256(b *testing.B) {
	key := testKeys(b)["p256"]
	cert := selfSigned(b, key, "bench")
	der, err := Sign(digestOf(crypto.SHA256, content), key, cert, nil)
	if err != nil {
		b.Fatal(err)
	}
	sd, err := Parse(der)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := sd.Signers[0].VerifySignature(cert); err != nil {
			b.Fatal(err)
		}
	}
}
