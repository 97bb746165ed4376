package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	keyOnce sync.Once
	keys    map[string]crypto.Signer
)

// testKeys returns one key per type, generated once (RSA is slow).
func testKeys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	keyOnce.Do(func() {
		keys = map[string]crypto.Signer{}
		r, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys["rsa"] = r
		for name, c := range map[string]elliptic.Curve{"p256": elliptic.P256(), "p384": elliptic.P384(), "p521": elliptic.P521()} {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				panic(err)
			}
			keys[name] = k
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		keys["ed25519"] = ed
	})
	return keys
}

// selfSigned returns a self-signed certificate for key.
func selfSigned(t testing.TB, key crypto.Signer, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(time.Now().UnixNano()),
		Subject:        pkix.Name{CommonName: cn, Organization: []string{"keiyaku test"}},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(24 * time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		SubjectKeyId:   []byte(cn + "-ski"),
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{"signer@example.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func digestOf(h crypto.Hash, b []byte) []byte {
	w := h.New()
	w.Write(b)
	return w.Sum(nil)
}

var content = []byte("契約書 — the content a PDF /ByteRange would cover")

func TestSignVerifyRoundTrip(t *testing.T) {
	ks := testKeys(t)
	cases := []struct {
		name string
		key  string
		hash crypto.Hash
		pss  bool
	}{
		{"rsa-pkcs1-sha256", "rsa", crypto.SHA256, false},
		{"rsa-pkcs1-sha512", "rsa", crypto.SHA512, false},
		{"rsa-pss-sha256", "rsa", crypto.SHA256, true},
		{"rsa-pss-sha384", "rsa", crypto.SHA384, true},
		{"ecdsa-p256", "p256", crypto.SHA256, false},
		{"ecdsa-p384", "p384", crypto.SHA384, false},
		{"ecdsa-p521", "p521", crypto.SHA512, false},
		{"ed25519", "ed25519", crypto.SHA512, false},
		{"rsa-pkcs1-sha3-256", "rsa", crypto.SHA3_256, false},
		{"ecdsa-p256-sha3-256", "p256", crypto.SHA3_256, false},
		{"ecdsa-p384-sha3-384", "p384", crypto.SHA3_384, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := ks[tc.key]
			cert := selfSigned(t, key, tc.name)
			d := digestOf(tc.hash, content)
			der, err := Sign(d, key, cert, &SignOptions{Hash: tc.hash, PSS: tc.pss, SigningTime: testNow})
			if err != nil {
				t.Fatal(err)
			}
			sd, err := Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if len(sd.Signers) != 1 || sd.Content != nil || !sd.ContentType.Equal(OIDData) {
				t.Fatalf("signers=%d content=%v type=%v", len(sd.Signers), sd.Content, sd.ContentType)
			}
			si := sd.Signers[0]
			if h, err := si.Hash(); err != nil || h != tc.hash {
				t.Fatalf("Hash() = %v, %v; want %v", h, err, tc.hash)
			}
			sc := sd.SignerCertificate(si)
			if sc == nil || !sc.Equal(cert) {
				t.Fatal("signer certificate not found")
			}
			if raw := sd.SignerRawCertificate(si); !bytes.Equal(raw, cert.Raw) {
				t.Fatal("SignerRawCertificate did not find the signer")
			}
			if err := si.CheckMessageDigest(d); err != nil {
				t.Fatalf("CheckMessageDigest: %v", err)
			}
			if err := si.VerifySignature(sc); err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
			if err := si.CheckSigningCertificate(sc); err != nil {
				t.Fatalf("CheckSigningCertificate: %v", err)
			}
			if !si.SignedAttrsDERSorted() {
				t.Error("our signed attributes are not DER-sorted")
			}
			if st, ok := si.SigningTime(); !ok || !st.Equal(testNow) {
				t.Errorf("SigningTime = %v, %v", st, ok)
			}
			if ct, err := si.ContentTypeAttr(); err != nil || !ct.Equal(OIDData) {
				t.Errorf("ContentTypeAttr = %v, %v", ct, err)
			}

			// A different content digest.
			other := digestOf(tc.hash, []byte("other"))
			if err := si.CheckMessageDigest(other); !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("CheckMessageDigest(other) = %v, want ErrDigestMismatch", err)
			}
			// Another key's certificate.
			otherKey := ks["p256"]
			if tc.key == "p256" {
				otherKey = ks["p384"]
			}
			wrong := selfSigned(t, otherKey, "wrong")
			if err := si.VerifySignature(wrong); !errors.Is(err, ErrSignatureInvalid) {
				t.Errorf("VerifySignature(wrong cert) = %v, want ErrSignatureInvalid", err)
			}
			if err := si.CheckSigningCertificate(wrong); !errors.Is(err, ErrSigningCertificateMismatch) {
				t.Errorf("CheckSigningCertificate(wrong) = %v, want mismatch", err)
			}
			// Tampered signed attributes: flip a bit in the message digest value.
			i := bytes.Index(der, d)
			if i < 0 {
				t.Fatal("digest not found in encoding")
			}
			bad := bytes.Clone(der)
			bad[i] ^= 1
			bsd, err := Parse(bad)
			if err != nil {
				t.Fatal(err)
			}
			if err := bsd.Signers[0].VerifySignature(cert); !errors.Is(err, ErrSignatureInvalid) {
				t.Errorf("tampered attrs: VerifySignature = %v, want ErrSignatureInvalid", err)
			}
			// Tampered signature value.
			bad = bytes.Clone(der)
			j := bytes.Index(bad, si.Signature)
			bad[j+len(si.Signature)/2] ^= 0x40
			bsd, err = Parse(bad)
			if err != nil {
				t.Fatal(err)
			}
			if err := bsd.Signers[0].VerifySignature(cert); !errors.Is(err, ErrSignatureInvalid) {
				t.Errorf("tampered signature: VerifySignature = %v, want ErrSignatureInvalid", err)
			}
		})
	}
}

func TestEncapsulatedContent(t *testing.T) {
	key := testKeys(t)["p256"]
	cert := selfSigned(t, key, "encap")
	ct := asn1.ObjectIdentifier{1, 2, 3, 4}
	der, err := Sign(nil, key, cert, &SignOptions{Content: content, ContentType: ct, OmitCertificates: true})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sd.Content, content) || !sd.ContentType.Equal(ct) || sd.Version != 3 {
		t.Fatalf("content %q type %v version %d", sd.Content, sd.ContentType, sd.Version)
	}
	if len(sd.Certificates) != 0 || sd.SignerCertificate(sd.Signers[0]) != nil {
		t.Fatal("certificates present though omitted")
	}
	si := sd.Signers[0]
	if got := si.FindCertificate([]*x509.Certificate{cert}); got == nil {
		t.Fatal("FindCertificate did not find the signer")
	}
	if err := si.CheckMessageDigest(digestOf(crypto.SHA256, content)); err != nil {
		t.Fatal(err)
	}
	if err := si.VerifySignature(cert); err != nil {
		t.Fatal(err)
	}
	if ctA, _ := si.ContentTypeAttr(); !ctA.Equal(ct) {
		t.Fatalf("content-type attribute %v", ctA)
	}
}

func TestUnsignedAttrs(t *testing.T) {
	key := testKeys(t)["p256"]
	cert := selfSigned(t, key, "unsigned")
	tok1 := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	tok2 := []byte{0x30, 0x03, 0x02, 0x01, 0x02}
	// RevocationInfoArchival ::= SEQUENCE { ocsp [1] EXPLICIT SEQUENCE OF OCSPResponse }
	ocsp := []byte{0x30, 0x03, 0x0a, 0x01, 0x00}
	wrap := func(tag byte, b []byte) []byte { return append([]byte{tag, byte(len(b))}, b...) }
	ria := wrap(0x30, wrap(0xa1, wrap(0x30, ocsp)))
	der, err := Sign(digestOf(crypto.SHA256, content), key, cert, &SignOptions{
		SignedAttrs:   []Attribute{{Type: OIDAttrAdbeRevocationInfo, Values: []asn1.RawValue{{FullBytes: ria}}}},
		UnsignedAttrs: []Attribute{{Type: OIDAttrTimeStampToken, Values: []asn1.RawValue{{FullBytes: tok1}, {FullBytes: tok2}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	toks := sd.Signers[0].SignatureTimestampTokens()
	if len(toks) != 2 || !bytes.Equal(toks[0], tok1) || !bytes.Equal(toks[1], tok2) {
		t.Fatalf("tokens = %x", toks)
	}
	crls, ocsps := sd.Signers[0].RevocationInfoArchival()
	if len(crls) != 0 || len(ocsps) != 1 || !bytes.Equal(ocsps[0], ocsp) {
		t.Fatalf("RevocationInfoArchival = %x, %x", crls, ocsps)
	}
	if err := sd.Signers[0].VerifySignature(cert); err != nil {
		t.Fatal(err)
	}
}

// TestUnsortedSignedAttrs re-orders the signed attributes of a signature and
// re-signs them as they now stand: the signature must verify over the bytes
// as received, and the SET must be reported as not DER-sorted.
func TestUnsortedSignedAttrs(t *testing.T) {
	key := testKeys(t)["ed25519"]
	cert := selfSigned(t, key, "unsorted")
	der, err := Sign(digestOf(crypto.SHA512, content), key, cert, &SignOptions{SigningTime: testNow})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	si := sd.Signers[0]
	raw := si.RawSignedAttrs
	hdr := len(raw) - setBodyLen(t, raw)
	var elems [][]byte
	for rest := raw[hdr:]; len(rest) > 0; {
		n := elementLen(t, rest)
		elems = append(elems, rest[:n])
		rest = rest[n:]
	}
	if len(elems) < 2 {
		t.Fatal("need two attributes")
	}
	swapped := bytes.Clone(raw[:hdr])
	for i := len(elems) - 1; i >= 0; i-- {
		swapped = append(swapped, elems[i]...)
	}
	toSign := bytes.Clone(swapped)
	toSign[0] = 0x31
	sig := ed25519.Sign(key.(ed25519.PrivateKey), toSign)
	mod := bytes.Replace(der, raw, swapped, 1)
	mod = bytes.Replace(mod, si.Signature, sig, 1)
	msd, err := Parse(mod)
	if err != nil {
		t.Fatal(err)
	}
	msi := msd.Signers[0]
	if msi.SignedAttrsDERSorted() {
		t.Error("reversed SET OF reported as DER-sorted")
	}
	if err := msi.VerifySignature(cert); err != nil {
		t.Errorf("signature over the attributes as received: %v", err)
	}
	if err := msi.CheckMessageDigest(digestOf(crypto.SHA512, content)); err != nil {
		t.Error(err)
	}
}

func setBodyLen(t *testing.T, el []byte) int {
	t.Helper()
	if el[1] < 0x80 {
		return int(el[1])
	}
	n := 0
	for _, c := range el[2 : 2+int(el[1]&0x7f)] {
		n = n<<8 | int(c)
	}
	return n
}

func elementLen(t *testing.T, el []byte) int {
	t.Helper()
	body := setBodyLen(t, el)
	hdr := 2
	if el[1] >= 0x80 {
		hdr += int(el[1] & 0x7f)
	}
	return hdr + body
}

// toBER re-encodes DER as BER: every constructed element with an
// indefinite length, OCTET STRINGs longer than 3 bytes split into
// constructed segments, short lengths in long form.
func toBER(t *testing.T, der []byte) []byte {
	t.Helper()
	var out []byte
	for len(der) > 0 {
		tag := der[0]
		n := elementLen(t, der)
		hdr := n - setBodyLen(t, der)
		body := der[hdr:n]
		switch {
		case tag&0x20 != 0:
			out = append(out, tag, 0x80)
			out = append(out, toBER(t, body)...)
			out = append(out, 0, 0)
		case tag == 0x04 && len(body) > 3:
			out = append(out, 0x24, 0x80)
			for len(body) > 0 {
				k := min(3, len(body))
				out = append(out, 0x04, 0x81, byte(k))
				out = append(out, body[:k]...)
				body = body[k:]
			}
			out = append(out, 0, 0)
		default:
			out = append(out, der[:n]...)
		}
		der = der[n:]
	}
	return out
}

func TestBERAndPadding(t *testing.T) {
	key := testKeys(t)["p256"]
	cert := selfSigned(t, key, "ber")
	der, err := Sign(nil, key, cert, &SignOptions{Content: content})
	if err != nil {
		t.Fatal(err)
	}
	ber := toBER(t, der)
	if bytes.Equal(ber, der) {
		t.Fatal("toBER changed nothing")
	}
	cases := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"der", der, nil},
		{"ber", ber, nil},
		{"der-zero-padded", append(bytes.Clone(der), make([]byte, 100)...), nil},
		{"ber-zero-padded", append(bytes.Clone(ber), make([]byte, 7)...), nil},
		{"trailing-garbage", append(bytes.Clone(der), 0, 0, 1, 0), nil},
		{"truncated", der[:len(der)-1], ErrMalformed},
		{"truncated-ber", ber[:len(ber)-2], ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"not-signed-data", []byte{0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01}, ErrUnsupported},
		{"indefinite-primitive", []byte{0x04, 0x80, 0, 0}, ErrMalformed},
		{"constructed-bit-string", []byte{0x23, 0x80, 0x03, 0x01, 0x00, 0, 0}, ErrUnsupported},
		{"too-large", make([]byte, MaxInputSize+1), ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sd, err := Parse(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Parse error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantExtra := 0
			if tc.name == "trailing-garbage" {
				wantExtra = 3
			}
			if sd.ExtraBytes != wantExtra {
				t.Errorf("ExtraBytes = %d, want %d", sd.ExtraBytes, wantExtra)
			}
			if !bytes.Equal(sd.Raw, der) {
				t.Fatal("DER of the parsed input differs from the original DER")
			}
			if !bytes.Equal(sd.Content, content) {
				t.Fatal("content lost")
			}
			if err := sd.Signers[0].VerifySignature(cert); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	var in []byte
	for i := 0; i < 10000; i++ {
		in = append(in, 0x30, 0x80)
	}
	if _, err := Parse(in); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse(deep) = %v, want ErrMalformed", err)
	}
}

func TestEveryPrefixFailsCleanly(t *testing.T) {
	key := testKeys(t)["ed25519"]
	cert := selfSigned(t, key, "prefix")
	der, err := Sign(digestOf(crypto.SHA512, content), key, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(der); n++ {
		if _, err := Parse(der[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Parse(prefix %d) = %v, want ErrMalformed", n, err)
		}
	}
}

func TestCompareDERSetElements(t *testing.T) {
	cases := []struct {
		name string
		a, b []byte
		want int
	}{
		{"equal", []byte{1, 2}, []byte{1, 2}, 0},
		{"less", []byte{1, 2}, []byte{1, 3}, -1},
		{"shorter-zero-padded-equal", []byte{1}, []byte{1, 0}, 0},
		{"shorter-less", []byte{1}, []byte{1, 1}, -1},
		{"longer-greater", []byte{1, 1}, []byte{1}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := compareDERSetElements(tc.a, tc.b); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAddUnsignedAttributes(t *testing.T) {
	key := testKeys(t)["p256"]
	cert := selfSigned(t, key, "add-unsigned")
	d := digestOf(crypto.SHA256, content)
	tok1 := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	tok2 := []byte{0x30, 0x03, 0x02, 0x01, 0x02}
	der, err := Sign(d, key, cert, &SignOptions{
		UnsignedAttrs: []Attribute{{Type: OIDAttrTimeStampToken, Values: []asn1.RawValue{{FullBytes: tok1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	out, err := AddUnsignedAttributes(toBER(t, der), 0, Attribute{Type: OIDAttrTimeStampToken, Values: []asn1.RawValue{{FullBytes: tok2}}})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	si := sd.Signers[0]
	toks := si.SignatureTimestampTokens()
	if len(toks) != 2 || !bytes.Equal(toks[0], tok1) || !bytes.Equal(toks[1], tok2) {
		t.Fatalf("tokens after adding: %x", toks)
	}
	if !bytes.Equal(si.RawSignedAttrs, orig.Signers[0].RawSignedAttrs) || !bytes.Equal(si.Signature, orig.Signers[0].Signature) ||
		len(sd.Certificates) != len(orig.Certificates) {
		t.Fatal("signed parts changed")
	}
	if err := si.VerifySignature(cert); err != nil {
		t.Fatal(err)
	}
	if err := si.CheckMessageDigest(d); err != nil {
		t.Fatal(err)
	}
	if _, err := AddUnsignedAttributes(der, 1); err == nil {
		t.Fatal("signer index out of range accepted")
	}
	if _, err := AddUnsignedAttributes([]byte{1, 2}, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestHashAndPSSParameters(t *testing.T) {
	cases := []struct {
		name string
		oid  asn1.ObjectIdentifier
		want crypto.Hash
		err  error
	}{
		{"sha1", OIDSHA1, crypto.SHA1, nil},
		{"sha224", OIDSHA224, crypto.SHA224, nil},
		{"sha3-256", OIDSHA3_256, crypto.SHA3_256, nil},
		{"signature-oid-as-digest", OIDSHA256WithRSA, crypto.SHA256, nil},
		{"md5", asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}, 0, ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			si := &SignerInfo{DigestAlgorithm: pkix.AlgorithmIdentifier{Algorithm: tc.oid}}
			h, err := si.Hash()
			if !errors.Is(err, tc.err) || h != tc.want {
				t.Fatalf("Hash() = %v, %v; want %v, %v", h, err, tc.want, tc.err)
			}
		})
	}
	// PSS parameters whose MGF1 hash differs from the message hash.
	sha1Alg, _ := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: OIDSHA1})
	bad := pssParams{
		Hash:       pkix.AlgorithmIdentifier{Algorithm: OIDSHA256},
		MGF:        pkix.AlgorithmIdentifier{Algorithm: OIDMGF1, Parameters: asn1.RawValue{FullBytes: sha1Alg}},
		SaltLength: 32, TrailerField: 1,
	}
	der, err := asn1.Marshal(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := parsePSS(asn1.RawValue{FullBytes: der}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("MGF1 mismatch: %v", err)
	}
	if _, _, err := parsePSS(asn1.RawValue{FullBytes: []byte{0x30, 0x03, 0xa2, 0x01}}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated PSS params: %v", err)
	}
	// Defaults: SHA-1, MGF1-SHA1, salt 20 (RFC 4055 §3.1).
	if h, salt, err := parsePSS(asn1.RawValue{FullBytes: []byte{0x30, 0x00}}); err != nil || h != crypto.SHA1 || salt != 20 {
		t.Fatalf("default PSS params = %v %d %v", h, salt, err)
	}
}
