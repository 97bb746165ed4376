package keiyakutest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/keiyakutest"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

func validate(t *testing.T, pki *keiyakutest.PKI, doc []byte) *signature.Report {
	t.Helper()
	rep, err := signature.Validate(context.Background(), bytes.NewReader(doc), int64(len(doc)), &signature.ValidateOptions{
		At: keiyakutest.Now, TrustAnchors: []*x509.Certificate{pki.Root}, Online: true, Revocation: signature.RevocationHardFail,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestSignerAndRevocation(t *testing.T) {
	pki := keiyakutest.NewPKI(t)
	good := pki.NewSigner(t, "株式会社エー商事", "山田 太郎")
	lost := pki.NewSigner(t, "株式会社エー商事", "鈴木 一郎")
	if good.Certificate.SerialNumber.Cmp(lost.Certificate.SerialNumber) == 0 {
		t.Fatal("two signers got the same serial number")
	}
	if got := good.Certificate.Subject.Organization; len(got) != 1 || got[0] != "株式会社エー商事" {
		t.Errorf("subject O = %v", got)
	}
	doc := keiyakutest.ContractPDF("x")
	if rep := validate(t, pki, good.Sign(t, doc)); !rep.Passed {
		t.Errorf("a good signer's signature does not pass: %+v", rep.Signatures[0])
	}
	pki.Revoke(lost, keiyakutest.Now.Add(-time.Hour))
	rep := validate(t, pki, lost.Sign(t, doc))
	if rep.Passed || rep.Signatures[0].Indication == signature.TotalPassed {
		t.Errorf("a revoked signer's signature passes under hard-fail revocation checking")
	}
}

func TestCRL(t *testing.T) {
	pki := keiyakutest.NewPKI(t)
	crl, err := x509.ParseRevocationList(pki.CRL(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(pki.Intermediate); err != nil {
		t.Errorf("CRL not signed by the issuing CA: %v", err)
	}
	if crl.ThisUpdate.After(keiyakutest.Now) || !crl.NextUpdate.After(keiyakutest.Now) {
		t.Errorf("CRL %s..%s is not current at Now", crl.ThisUpdate, crl.NextUpdate)
	}
}

func TestTSA(t *testing.T) {
	pki := keiyakutest.NewPKI(t)
	tsa := pki.NewTSA(t)
	digest := sha256.Sum256([]byte("data"))
	tok, err := (&timestamp.Client{URL: tsa.URL}).Timestamp(context.Background(), digest[:])
	if err != nil {
		t.Fatalf("RFC 3161 request to %s: %v", tsa.URL, err)
	}
	if !tok.Time.Equal(keiyakutest.Now) {
		t.Errorf("genTime %s, want Now", tok.Time)
	}
	s := pki.NewSigner(t, "Bee Trading Ltd.", "Betty Brown")
	rep := validate(t, pki, s.SignBT(t, keiyakutest.ContractPDF("bt"), tsa))
	if !rep.Passed || rep.Level != signature.LevelBT {
		t.Errorf("B-T signature: passed %v level %s", rep.Passed, rep.Level)
	}
}

func TestContractPDFsDiffer(t *testing.T) {
	a, b := keiyakutest.ContractPDF("A"), keiyakutest.ContractPDF("B")
	if bytes.Equal(a, b) || !bytes.HasPrefix(a, []byte("%PDF-")) {
		t.Error("contract PDFs of different texts are equal, or not PDFs")
	}
	if bytes.Contains(keiyakutest.ContractPDF("a)b"), []byte("a)b")) {
		t.Error("a parenthesis reached the content stream unescaped")
	}
}

func TestScopeCleansUp(t *testing.T) {
	s := keiyakutest.NewScope()
	dir := s.TempDir()
	var order []int
	s.Cleanup(func() { order = append(order, 1) })
	s.Cleanup(func() { order = append(order, 2) })
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("TempDir %s survives Close: %v", dir, err)
	}
	if len(order) != 2 || order[0] != 2 {
		t.Errorf("cleanups ran as %v, want last first", order)
	}
	defer func() {
		if recover() == nil {
			t.Error("Fatalf did not panic")
		}
	}()
	s.Fatalf("boom")
}
