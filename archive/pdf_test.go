package archive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
)

// TestSealPDF: a B-B or B-T contract sealed by the archive verifies as
// original at B-LTA, and the seal only appends to the signed bytes.
func TestSealPDF(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	for _, level := range []signature.Level{signature.LevelBB, signature.LevelBT} {
		t.Run(string(level), func(t *testing.T) {
			signed := signedContract(t, p, level)
			sealed := seal(t, s, signed)
			if !bytes.HasPrefix(sealed, signed) {
				t.Fatal("the sealed file must begin with the signed file unchanged")
			}
			v := verifyPDF(t, s, sealed, testpki.Now)
			if !v.Original || v.Report.Level != signature.LevelBLTA {
				t.Fatalf("want original at B-LTA:\n%s", dump(v))
			}
			sum := sha256.Sum256(sealed)
			if v.SHA256 != hex.EncodeToString(sum[:]) || v.Size != int64(len(sealed)) {
				t.Errorf("SHA256/Size = %s/%d, want those of the sealed file", v.SHA256, v.Size)
			}
			if !v.Sealed.Equal(testpki.Now) || v.TSA == "" || !v.TSANotAfter.Equal(testpki.TSANotAfter) {
				t.Errorf("Sealed %v TSA %q TSANotAfter %v; want %v, a name, %v", v.Sealed, v.TSA, v.TSANotAfter, testpki.Now, testpki.TSANotAfter)
			}
			if len(v.Reasons) != 1 {
				t.Errorf("an original gets one summary line, got %q", v.Reasons)
			}
			// The seal carries its own revocation data: offline, with
			// hard-fail revocation, it still verifies.
			strict := newService(t, p, p.TSA, testpki.Now, func(c *archive.Config) {
				c.Online, c.Revocation = false, signature.RevocationHardFail
			})
			if v := verifyPDF(t, strict, sealed, testpki.Now); !v.Original {
				t.Fatalf("offline hard-fail verification of the seal:\n%s", dump(v))
			}
		})
	}
}

// TestVerifyPDFNotOriginal: every way a file can fail to be the sealed
// original gives Original false with a reason, not an error.
func TestVerifyPDFNotOriginal(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	signed := signedContract(t, p, signature.LevelBT)
	sealed := seal(t, s, signed)

	tampered := bytes.Clone(sealed)
	i := bytes.Index(tampered, []byte("1,000,000 JPY"))
	if i < 0 {
		t.Fatal("contract text not found")
	}
	tampered[i] = '9'
	appended := append(bytes.Clone(sealed), "\n% a comment after the seal\n"...)
	noAnchors := newService(t, p, p.TSA, testpki.Now, func(c *archive.Config) { c.TrustAnchors = nil })
	// A proper incremental update after the seal that the signatures allow
	// (validation data): the signature package passes it, the archive does
	// not call it the sealed original.
	var dss bytes.Buffer
	if err := signature.AddValidationData(context.Background(), bytes.NewReader(sealed), int64(len(sealed)), &dss,
		&signature.ExtendOptions{Online: true, Clock: func() time.Time { return testpki.Now }}); err != nil {
		t.Fatal(err)
	}
	has := func(sub signature.SubIndication) func(*archive.PDFVerification) bool {
		return func(v *archive.PDFVerification) bool {
			for _, e := range v.Report.Signatures {
				if e.SubIndication == sub {
					return true
				}
			}
			return false
		}
	}
	unparsed := func(v *archive.PDFVerification) bool { return v.Report.Error != "" }

	for _, c := range []struct {
		name string
		s    *archive.Service
		doc  []byte
		at   time.Time
		why  func(*archive.PDFVerification) bool
	}{
		{"tampered byte", s, tampered, testpki.Now, has(signature.HashFailure)},
		// Bytes after the last %%EOF that define nothing lower no
		// signature (signature reports them as not covered), but the file
		// is no longer the sealed bytes.
		{"garbage appended after seal", s, appended, testpki.Now, func(v *archive.PDFVerification) bool {
			return v.Report.Passed && len(v.Reasons) == 1 && v.Report.Signatures[len(v.Report.Signatures)-1].Coverage == signature.CoverageEntireRevision
		}},
		{"validation data appended after seal", s, dss.Bytes(), testpki.Now, func(v *archive.PDFVerification) bool {
			return v.Report.Passed && len(v.Reasons) == 1 && v.Report.Signatures[len(v.Report.Signatures)-1].Coverage == signature.CoverageEntireRevision
		}},
		{"signed but not sealed", s, signed, testpki.Now, func(v *archive.PDFVerification) bool {
			return v.Report.Passed && v.Report.Level == signature.LevelBT && v.Sealed.IsZero()
		}},
		{"unsigned", s, pdftest.OnePage(contractContent).Bytes(), testpki.Now, func(v *archive.PDFVerification) bool {
			return v.Report.Error == "" && len(v.Report.Signatures) == 0
		}},
		{"not a PDF", s, []byte("this is not a PDF at all"), testpki.Now, unparsed},
		{"empty", s, nil, testpki.Now, unparsed},
		{"untrusted root", noAnchors, sealed, testpki.Now, has(signature.NoCertificateChainFound)},
		{"after the TSA expired without renewal", s, sealed, testpki.TSANotAfter.Add(365 * 24 * time.Hour), has(signature.OutOfBoundsNoPOE)},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := verifyPDF(t, c.s, c.doc, c.at)
			if v.Original {
				t.Fatalf("must not be original:\n%s", dump(v))
			}
			if len(v.Reasons) == 0 {
				t.Fatal("a file that is not original needs a reason")
			}
			if !c.why(v) {
				t.Fatalf("not original, but not for the expected reason:\n%s", dump(v))
			}
		})
	}
	// The untouched seal still passes: the failures above are the files'.
	if v := verifyPDF(t, s, sealed, testpki.Now); !v.Original {
		t.Fatalf("sealed file:\n%s", dump(v))
	}
}

// TestRenewPDFAcrossTSAExpiry: sealed at T0 by TSA (expiring T1), renewed
// a day before T1 by TSA2, verified at T2 > T1: original only with the
// renewal.
func TestRenewPDFAcrossTSAExpiry(t *testing.T) {
	p := testpki.New(t)
	t0 := testpki.Now
	renewAt := testpki.TSANotAfter.Add(-24 * time.Hour)
	t2 := testpki.TSANotAfter.Add(365 * 24 * time.Hour)

	sealer := newService(t, p, p.TSA, t0, nil)
	sealed := seal(t, sealer, signedContract(t, p, signature.LevelBT))

	p.SetNow(renewAt) // the OCSP responder answers as of the renewal
	renewer := newService(t, p, p.TSA2, renewAt, nil)
	if !renewer.NeedsPDFRenewal(verifyPDF(t, renewer, sealed, renewAt).Report, 30*24*time.Hour) {
		t.Fatal("a day before the TSA expires, a 30-day horizon must ask for renewal")
	}
	var out bytes.Buffer
	if err := renewer.RenewPDF(context.Background(), bytes.NewReader(sealed), int64(len(sealed)), &out); err != nil {
		t.Fatalf("RenewPDF: %v", err)
	}
	renewed := out.Bytes()
	if !bytes.HasPrefix(renewed, sealed) {
		t.Fatal("renewal must only append")
	}

	later := newService(t, p, p.TSA2, t2, nil)
	v := verifyPDF(t, later, renewed, time.Time{}) // zero At: the service clock, t2
	if !v.Original || !v.At.Equal(t2) {
		t.Fatalf("renewed file at T2 (At %v): want original:\n%s", v.At, dump(v))
	}
	if !v.Sealed.Equal(renewAt) || !v.TSANotAfter.Equal(testpki.TSA2NotAfter) {
		t.Errorf("newest seal %v until %v; want %v until %v", v.Sealed, v.TSANotAfter, renewAt, testpki.TSA2NotAfter)
	}
	if later.NeedsPDFRenewal(v.Report, 30*24*time.Hour) {
		t.Error("freshly renewed evidence with years left must not need renewal")
	}
	if v := verifyPDF(t, later, sealed, t2); v.Original {
		t.Fatalf("without the renewal the file must not be original at T2:\n%s", dump(v))
	}
}

// TestSealPDFErrors: bad input is an error of the right kind, and no temp
// file is left behind whatever happens, in memory or through TempDir; a
// good input is sealed either way.
func TestSealPDFErrors(t *testing.T) {
	p := testpki.New(t)
	signed := signedContract(t, p, signature.LevelBT)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// Offline, with no OCSP or CRL supplied, validation data is missing.
	offline := func(c *archive.Config) { c.Online = false }
	for _, c := range []struct {
		name   string
		ctx    context.Context
		mutate func(*archive.Config)
		doc    []byte
		want   error
	}{
		{"ok", context.Background(), nil, signed, nil},
		{"unsigned", context.Background(), nil, pdftest.OnePage(contractContent).Bytes(), kerr.Invalid},
		{"not a PDF", context.Background(), nil, []byte("%PDF-1.7 garbage"), kerr.Invalid},
		{"empty", context.Background(), nil, nil, kerr.Invalid},
		{"missing validation data", context.Background(), offline, signed, signature.ErrMissingValidationData},
		{"cancelled", cancelled, nil, signed, context.Canceled},
		{"TSA fails", context.Background(), func(c *archive.Config) {
			// The TSA's clock is past its certificate: it refuses to issue.
			c.Timestamper = tsaAt(t, p, p.TSA, testpki.TSANotAfter.Add(time.Hour))
		}, signed, kerr.Unavailable},
	} {
		for _, limit := range []int64{0, -1} { // in memory, through TempDir
			t.Run(fmt.Sprintf("%s/MemoryLimit=%d", c.name, limit), func(t *testing.T) {
				dir := t.TempDir()
				s := newService(t, p, p.TSA, testpki.Now, func(cfg *archive.Config) {
					if c.mutate != nil {
						c.mutate(cfg)
					}
					cfg.TempDir = dir
					cfg.MemoryLimit = limit
				})
				var out bytes.Buffer
				err := s.SealPDF(c.ctx, bytes.NewReader(c.doc), int64(len(c.doc)), &out)
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Fatalf("SealPDF error %v, want %v", err, c.want)
				}
				if c.want == nil {
					if v := verifyPDF(t, s, out.Bytes(), testpki.Now); !v.Original || v.Report.Level != signature.LevelBLTA {
						t.Fatalf("sealed file not original at B-LTA:\n%s", dump(v))
					}
				}
				if c.want == signature.ErrMissingValidationData && !errors.Is(err, kerr.FailedPrecondition) {
					t.Errorf("missing validation data: want kind FailedPrecondition, got %v", kerr.Of(err))
				}
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 0 {
					t.Fatalf("SealPDF left %d file(s) in TempDir", len(entries))
				}
			})
		}
	}
}

// TestVerifyPDFCancelled: a cancelled context stops verification with an
// error, not a verdict.
func TestVerifyPDFCancelled(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	sealed := seal(t, s, signedContract(t, p, signature.LevelBT))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v, err := s.VerifyPDF(ctx, bytes.NewReader(sealed), int64(len(sealed)), nil)
	if !errors.Is(err, context.Canceled) || v != nil {
		t.Fatalf("got %v, %v; want context.Canceled and no verdict", v, err)
	}
	var out bytes.Buffer
	if err := s.RenewPDF(ctx, bytes.NewReader(sealed), int64(len(sealed)), &out); !errors.Is(err, context.Canceled) {
		t.Fatalf("RenewPDF: got %v, want context.Canceled", err)
	}
}

// TestVerifyPDFLarge: a sealed file of a few MiB (hashed and validated side
// by side) verifies as original with its own SHA-256; one changed byte in
// its content makes it not original.
func TestVerifyPDFLarge(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	bulk := make([]byte, 3<<20)
	for i := range bulk {
		bulk[i] = byte(i * 7)
	}
	w := pdftest.New()
	w.Object(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.Object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /Im0 5 0 R >> >> >>")
	w.Stream(4, "", []byte("q 100 0 0 100 0 0 cm /Im0 Do Q"))
	w.Stream(5, "/Type /XObject /Subtype /Image /Width 1024 /Height 3072 /ColorSpace /DeviceGray /BitsPerComponent 8", bulk)
	w.EndRevision(pdftest.Section{Trailer: "/Root 1 0 R"})
	in := w.Bytes()
	var signed bytes.Buffer
	if err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &signed, &signature.SignOptions{
		Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert}, Field: "Registrant", SigningTime: testpki.Now,
	}); err != nil {
		t.Fatal(err)
	}
	sealed := seal(t, s, signed.Bytes())
	v := verifyPDF(t, s, sealed, testpki.Now)
	sum := sha256.Sum256(sealed)
	if !v.Original || v.SHA256 != hex.EncodeToString(sum[:]) || v.Size != int64(len(sealed)) {
		t.Fatalf("sealed %d bytes: original %v, SHA256 %s (want %x):\n%s", len(sealed), v.Original, v.SHA256, sum, dump(v))
	}
	changed := bytes.Clone(sealed)
	changed[len(in)/2] ^= 1
	if v := verifyPDF(t, s, changed, testpki.Now); v.Original {
		t.Fatal("a changed byte in the content must make the file not original")
	}
}
