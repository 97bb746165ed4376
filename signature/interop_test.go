package signature_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// validateFile runs Validate over a file on disk.
func validateFile(t *testing.T, name string, opts *signature.ValidateOptions) *signature.Report {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := signature.Validate(context.Background(), f, st.Size(), opts)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return rep
}

func validateBytes(t *testing.T, b []byte, opts *signature.ValidateOptions) *signature.Report {
	t.Helper()
	rep, err := signature.Validate(context.Background(), bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return rep
}

// TestPdfsigSignedValidates: PDFs signed once and twice by poppler's
// `pdfsig -add-signature` (an independent signer, NSS) pass with the test
// CA as the only trust anchor, and the first signature reports the second
// as an allowed modification.
func TestPdfsigSignedValidates(t *testing.T) {
	pdfsig := testenv.Command(t, "pdfsig", "poppler-utils")
	p := testpki.New(t)
	dir := t.TempDir()
	db := p.NSSDB(t, dir, p.RSA)
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdftest.OnePage("BT /F1 12 Tf 72 720 Td (keiyaku interop) Tj ET").Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// pdfsig 22.12 signs only with RSA keys, and only adbe.pkcs7.detached
	// when adding a signature field.
	sign := func(src, dst, nick, field string) {
		t.Helper()
		args := []string{"-nssdir", db, "-add-signature", "-nick", nick, "-new-signature-field-name", field, "-reason", "承認 approval", src, dst}
		if out, err := exec.Command(pdfsig, args...).CombinedOutput(); err != nil {
			t.Fatalf("pdfsig %v: %v\n%s", args, err, out)
		}
	}
	once := filepath.Join(dir, "once.pdf")
	twice := filepath.Join(dir, "twice.pdf")
	sign(in, once, p.RSA.Name, "Registrant")
	sign(once, twice, p.RSA.Name, "Counterparty")

	// pdfsig signs with the wall clock: validate now, when the test
	// certificates are valid (testpki leaves: 2025-01-01 to 2028-01-01).
	opts := &signature.ValidateOptions{TrustAnchors: []*x509.Certificate{p.Root.Cert}, Revocation: signature.RevocationOff}

	rep := validateFile(t, once, opts)
	if !rep.Passed || len(rep.Signatures) != 1 {
		t.Fatalf("once-signed: passed=%v, %d signatures\n%s", rep.Passed, len(rep.Signatures), dumpReport(rep))
	}
	s := rep.Signatures[0]
	if s.Field != "Registrant" || s.SubFilter != "adbe.pkcs7.detached" || s.Coverage != signature.CoverageEntireFile || s.Modification != signature.ModificationNone {
		t.Errorf("once-signed: unexpected report\n%s", dumpReport(rep))
	}
	if s.Signer == nil || s.Signer.Serial == "" || len(s.Chain) < 2 {
		t.Errorf("once-signed: signer or chain missing\n%s", dumpReport(rep))
	}

	rep = validateFile(t, twice, opts)
	if !rep.Passed || len(rep.Signatures) != 2 {
		t.Fatalf("twice-signed: passed=%v, %d signatures\n%s", rep.Passed, len(rep.Signatures), dumpReport(rep))
	}
	first, second := rep.Signatures[0], rep.Signatures[1]
	if first.Field != "Registrant" || first.Coverage != signature.CoverageEntireRevision || first.Modification != signature.ModificationAllowed {
		t.Errorf("twice-signed, first: want entire_revision and allowed\n%s", dumpReport(rep))
	}
	if second.Field != "Counterparty" || second.SubFilter != "adbe.pkcs7.detached" || second.Coverage != signature.CoverageEntireFile || second.Modification != signature.ModificationNone {
		t.Errorf("twice-signed, second: want entire_file and none\n%s", dumpReport(rep))
	}

	// Without the anchor nothing is trusted.
	rep = validateFile(t, twice, &signature.ValidateOptions{Revocation: signature.RevocationOff})
	if rep.Passed {
		t.Fatal("passed with no trust anchor")
	}
	for _, s := range rep.Signatures {
		if s.Indication != signature.Indeterminate || s.SubIndication != signature.NoCertificateChainFound {
			t.Errorf("no anchor: %s is %s/%s, want INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND", s.Field, s.Indication, s.SubIndication)
		}
	}
}
