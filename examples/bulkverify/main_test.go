package main

import (
	"cloud.google.com/go/civil"

	"bytes"
	"context"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
)

// populate makes a data directory with two cases completed at
// testpki.Now between companies A and B, each with a supplementary file,
// and returns A's company ID and the supplementary files' keys.
func populate(t *testing.T, p *testpki.PKI, dir string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	svc, err := keiyaku.Open(ctx, keiyaku.Config{
		Dir: dir, TrustAnchors: []*x509.Certificate{p.Root.Cert}, Intermediates: []*x509.Certificate{p.Intermediate.Cert},
		Online: true, Clock: func() time.Time { return testpki.Now },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	// member creates a company whose administrator signs with signer's
	// certificate, registered to the company as the service demands.
	member := func(name, login string, signer *testpki.Cert) account.Principal {
		c, u, _, err := svc.Accounts.CreateCompany(ctx, name, account.NewUser{LoginID: login, Profile: storage.Profile{Name: name, Email: login + "@example.com", Language: "ja"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		admin := account.Principal{UserID: u.ID, CompanyID: c.ID, Admin: true}
		if _, err := svc.Accounts.RegisterSignerCertificate(ctx, admin, signer.Cert); err != nil {
			t.Fatal(err)
		}
		return admin
	}
	a, b := member("株式会社エー", "admin-a", p.ECDSAP256), member("Bee Ltd.", "admin-b", p.RSA)
	sign := func(c *testpki.Cert, in []byte) []byte {
		var out bytes.Buffer
		if err := signature.Sign(ctx, bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
			Signer: c.Key, Certificate: c.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert}, SigningTime: testpki.Now,
		}); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	var keys []string
	for _, name := range []string{"業務委託契約", "NDA"} {
		doc := sign(p.ECDSAP256, pdftest.OnePage("BT /F1 12 Tf 72 720 Td ("+name+") Tj ET").Bytes())
		c, err := svc.Cases.Register(ctx, a, &casework.NewCase{
			Form: casework.FormBilateral, Name: name, Amount: casework.Money{Amount: 1, Currency: "JPY"}, TransactionDate: civil.DateOf(testpki.Now),
			Parties:     []casework.Party{{CompanyID: b.CompanyID, CompanyName: "Bee Ltd.", UserID: b.UserID}},
			Document:    casework.Upload{Name: "c.pdf", ContentType: "application/pdf", Body: bytes.NewReader(doc)},
			Supplements: []casework.Upload{{Name: "memo.txt", ContentType: "text/plain", Body: strings.NewReader("memo for " + name)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := svc.Cases.Receive(ctx, b, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		signed := sign(p.RSA, got)
		if _, err := svc.Cases.Return(ctx, b, c.ID, casework.Upload{Name: "c.pdf", ContentType: "application/pdf", Body: bytes.NewReader(signed)}); err != nil {
			t.Fatal(err)
		}
		if c, err = svc.Cases.Complete(ctx, a, c.ID); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, c.Supplements[0].Key)
	}
	return a.CompanyID, keys
}

func TestBulkverifyCommand(t *testing.T) {
	p := testpki.New(t)
	dir := t.TempDir()
	company, keys := populate(t, p, dir)
	out := t.TempDir()
	root := filepath.Join(out, "root.pem")
	if err := os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	at := testpki.Now.Add(24 * time.Hour).Format(time.RFC3339)
	csvPath, jsonPath, pdfPath := filepath.Join(out, "r.csv"), filepath.Join(out, "r.json"), filepath.Join(out, "r.pdf")
	var stdout, stderr bytes.Buffer
	// testpki.Now (2026-01-01) is in fiscal 2025 (April 2025 to March 2026).
	code := run(context.Background(), []string{"-dir", dir, "-company", company, "-trust", root, "-fiscal", "2025", "-at", at,
		"-csv", csvPath, "-json", jsonPath, "-pdf", pdfPath}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "2 cases, 12 objects: 12 passed") {
		t.Fatalf("stderr: %s", stderr.String())
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(lines) != 1+12+11 {
		t.Fatalf("CSV: %d lines, %v", len(lines), err)
	}
	var rep struct {
		Summary struct{ Passed int } `json:"summary"`
	}
	if data, err := os.ReadFile(jsonPath); err != nil || json.Unmarshal(data, &rep) != nil || rep.Summary.Passed != 12 {
		t.Fatalf("JSON report: %v %+v", err, rep)
	}
	if data, err := os.ReadFile(pdfPath); err != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("PDF report: %v", err)
	}

	// Another fiscal year: nothing to verify, CSV to standard output.
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"-dir", dir, "-company", company, "-fiscal", "2026", "-quiet"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "case_id,") {
		t.Fatalf("fiscal 2026: exit %d, stdout %q, stderr %s", code, stdout.String(), stderr.String())
	}

	// A changed byte in one supplementary file: exit 1.
	path := filepath.Join(dir, "blobs", "sha256", keys[0])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"-dir", dir, "-company", company, "-trust", root, "-from", "2025-12-31", "-to", "2026-01-01", "-at", at, "-quiet"}, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "11 passed, 1 failed") {
		t.Fatalf("after a changed byte: exit %d, %s", code, stderr.String())
	}

	for _, args := range [][]string{
		{},
		{"-dir", dir},
		{"-dir", dir, "-company", company, "-fiscal", "2025", "-from", "2025-04-01"},
		{"-dir", dir, "-company", company, "-from", "yesterday"},
		{"-dir", dir, "-company", company, "-at", "noon"},
	} {
		if code := run(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestHelp: -h prints the usage and exits 0, like every command (issue 9);
// a usage error exits 2.
func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "-company") {
		t.Errorf("-h: exit %d, usage %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"-nosuchflag"}, &out, &errOut); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}
