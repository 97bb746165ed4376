package cms

import (
	"crypto"
	"testing"
)

func FuzzParse(f *testing.F) {
	ks := testKeys(f)
	for _, name := range []string{"p256", "ed25519"} {
		cert := selfSigned(f, ks[name], "fuzz")
		der, err := Sign(nil, ks[name], cert, &SignOptions{Content: content, SigningTime: testNow})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
		d, err := Sign(digestOf(crypto.SHA512, content), ks[name], cert, &SignOptions{Hash: crypto.SHA512})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append(d, 0, 0, 0))
	}
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0, 0, 0, 0})
	f.Add([]byte{0x24, 0x80, 0x04, 0x01, 0x41, 0x04, 0x81, 0x01, 0x42, 0, 0})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x1f, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := Parse(b)
		if err != nil {
			return
		}
		for _, si := range sd.Signers {
			exerciseSigner(sd, si)
		}
	})
}
