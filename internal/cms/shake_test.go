package cms

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSHAKE256Digest(t *testing.T) {
	for _, alg := range []pkix.AlgorithmIdentifier{
		{Algorithm: OIDSHAKE256},
		{Algorithm: OIDSHAKE256Len, Parameters: asn1.RawValue{FullBytes: []byte{0x02, 0x02, 0x02, 0x00}}}, // INTEGER 512
	} {
		si := &SignerInfo{DigestAlgorithm: alg}
		h, err := si.NewDigest()
		if err != nil {
			t.Fatalf("%v: %v", alg.Algorithm, err)
		}
		// SHAKE256("") with a 512-bit output (FIPS 202 test vector).
		want := "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762fd75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be"
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Fatalf("SHAKE256(\"\") = %s", got)
		}
		h.Write([]byte("abc"))
		first := h.Sum(nil)
		if again := h.Sum(nil); hex.EncodeToString(first) != hex.EncodeToString(again) || h.Size() != 64 {
			t.Fatal("Sum must not change the state")
		}
	}
	bad := &SignerInfo{DigestAlgorithm: pkix.AlgorithmIdentifier{Algorithm: OIDSHAKE256Len, Parameters: asn1.RawValue{FullBytes: []byte{0x02, 0x02, 0x01, 0x00}}}}
	if _, err := bad.NewDigest(); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("256-bit SHAKE256 output: %v", err)
	}
}
