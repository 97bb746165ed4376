package cms

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/testenv"
)

// contentsRE finds hex /Contents strings, which in a PDF are signature
// values (page /Contents are references or arrays).
var contentsRE = regexp.MustCompile(`/Contents\s*<([0-9A-Fa-f\s]{64,})>`)

// corpusBlobs returns the CMS blobs of every signed PDF of the corpus, keyed
// by "file#index".
func corpusBlobs(t *testing.T) map[string][]byte {
	t.Helper()
	root := testenv.Corpus(t)
	out := map[string][]byte{}
	err := filepath.WalkDir(filepath.Join(root, "pdf"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pdf") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "/ByteRange") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		for i, m := range contentsRE.FindAllSubmatch(b, -1) {
			h := strings.Map(func(r rune) rune {
				if strings.ContainsRune(" \t\r\n\f", r) {
					return -1
				}
				return r
			}, string(m[1]))
			if len(h)%2 == 1 {
				h += "0"
			}
			blob, err := hex.DecodeString(h)
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			out[rel+"#"+string(rune('0'+i))] = blob
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no signatures found in the corpus")
	}
	return out
}

// TestCorpus parses every signature of the corpus: each must parse or fail
// with one of the package's errors, and must never panic. Signatures that
// parse are run through every accessor.
func TestCorpus(t *testing.T) {
	blobs := corpusBlobs(t)
	var parsed, verified, failed int
	for name, blob := range blobs {
		sd, err := Parse(blob)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s: error outside the package's kinds: %v", name, err)
			}
			failed++
			t.Logf("%s: %v", name, err)
			continue
		}
		parsed++
		for _, si := range sd.Signers {
			exerciseSigner(sd, si)
			c := sd.SignerCertificate(si)
			if c != nil && si.RawSignedAttrs != nil && si.VerifySignature(c) == nil {
				verified++
			}
		}
	}
	t.Logf("%d blobs: %d parsed, %d refused, %d signer signatures verified", len(blobs), parsed, failed, verified)
	if parsed < len(blobs)*3/4 {
		t.Errorf("only %d of %d corpus signatures parsed", parsed, len(blobs))
	}
}

// exerciseSigner calls every accessor, for tests that only look for panics.
func exerciseSigner(sd *SignedData, si *SignerInfo) {
	_, _ = si.Hash()
	_, _ = si.MessageDigest()
	_, _ = si.ContentTypeAttr()
	_, _ = si.SigningTime()
	_ = si.SignedAttrsDERSorted()
	_ = si.SignatureTimestampTokens()
	_, _ = si.RevocationInfoArchival()
	c := sd.SignerCertificate(si)
	_ = si.VerifySignature(c)
	_ = si.VerifyNoSignedAttrs(c, make([]byte, 32))
	_ = si.CheckSigningCertificate(c)
	if len(sd.Certificates) > 0 {
		_ = si.VerifySignature(sd.Certificates[0])
		_ = si.CheckSigningCertificate(sd.Certificates[0])
	}
}

// TestCorpusRawSignerCertificate: certificates crypto/x509 refuses are
// still found by identity.
func TestCorpusRawSignerCertificate(t *testing.T) {
	blobs := corpusBlobs(t)
	found := 0
	for name, blob := range blobs {
		sd, err := Parse(blob)
		if err != nil {
			continue
		}
		for _, si := range sd.Signers {
			raw := sd.SignerRawCertificate(si)
			c := sd.SignerCertificate(si)
			if c != nil && (raw == nil || string(raw) != string(c.Raw)) {
				t.Errorf("%s: SignerRawCertificate disagrees with SignerCertificate", name)
			}
			if c == nil && raw != nil {
				found++
			}
		}
	}
	t.Logf("%d signer certificates found only by SignerRawCertificate", found)
}

// TestCorpusKnownCases pins what the corpus shows about particular
// signatures.
func TestCorpusKnownCases(t *testing.T) {
	blobs := corpusBlobs(t)
	cases := []struct {
		blob       string
		refused    bool // Parse fails
		unsorted   bool // signed attributes not in DER order, yet the signature verifies
		noAttrs    bool
		rawOnlyPKI bool // signer certificate found only by SignerRawCertificate
		extraBytes bool
	}{
		{blob: "pdf/dss/BadEncodedCMS.pdf#0", refused: true},
		{blob: "pdf/dss/pades-5-signatures-and-1-document-timestamp.pdf#0", unsorted: true},
		{blob: "pdf/pyhanko/sig-no-signed-attrs.pdf#0", noAttrs: true},
		// brainpool curve: crypto/x509 refuses the certificate whatever GODEBUG says.
		{blob: "pdf/dss/dss-PLAIN-ECDSA/TeleSec_PKS_eIDAS_QES_CA_1-baseline-b.pdf#0", rawOnlyPKI: true},
		{blob: "pdf/dss/pdf-removed-pages.pdf#0", extraBytes: true},
		{blob: "pdf/dss/pades-bes.pdf#0"},
	}
	for _, tc := range cases {
		t.Run(tc.blob, func(t *testing.T) {
			blob, ok := blobs[tc.blob]
			if !ok {
				t.Fatalf("%s not in the corpus", tc.blob)
			}
			sd, err := Parse(blob)
			if tc.refused {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (sd.ExtraBytes > 0) != tc.extraBytes {
				t.Errorf("ExtraBytes = %d", sd.ExtraBytes)
			}
			si := sd.Signers[0]
			c := sd.SignerCertificate(si)
			if tc.rawOnlyPKI {
				if c != nil || sd.SignerRawCertificate(si) == nil {
					t.Fatalf("want the signer certificate only as raw bytes")
				}
				return
			}
			if c == nil {
				t.Fatal("signer certificate not found")
			}
			if tc.noAttrs {
				if si.RawSignedAttrs != nil {
					t.Fatal("signed attributes present")
				}
				return
			}
			if si.SignedAttrsDERSorted() == tc.unsorted {
				t.Errorf("SignedAttrsDERSorted = %v", !tc.unsorted)
			}
			if err := si.VerifySignature(c); err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
		})
	}
}
