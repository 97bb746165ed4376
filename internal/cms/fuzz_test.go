package cms

import (
	"bytes"
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

// FuzzDERFastPath: whenever Parse takes the input as DER without
// converting it, the conversion would have returned the same bytes.
func FuzzDERFastPath(f *testing.F) {
	ks := testKeys(f)
	cert := selfSigned(f, ks["p256"], "fuzz")
	der, err := Sign(nil, ks["p256"], cert, &SignOptions{Content: content, SigningTime: testNow})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Add([]byte{0x30, 0x81, 0x03, 0x02, 0x01, 0x05})       // long form where short would do
	f.Add([]byte{0x30, 0x03, 0x24, 0x01, 0x04})             // constructed OCTET STRING
	f.Add([]byte{0x30, 0x04, 0x00, 0x02, 0x01, 0x01})       // end-of-contents inside
	f.Add([]byte{0x1f, 0x05, 0x01, 0x00})                   // low tag in high-tag form
	f.Add([]byte{0x30, 0x82, 0x00, 0x03, 0x02, 0x01, 0x05}) // leading zero length octet
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := derLen(b, 0)
		der, m, err := berToDER(b)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("derLen accepts %x (%d bytes), berToDER refuses it: %v", b, n, err)
		}
		if m != n || !bytes.Equal(der, b[:n]) {
			t.Fatalf("derLen accepts %x as %d bytes of DER, berToDER gives %x (%d bytes)", b, n, der, m)
		}
	})
}
