package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// fixtures writes a signed contract, a tampered copy, an unsigned PDF and
// the test root as PEM into a temporary directory.
func fixtures(t *testing.T) (dir string, p *testpki.PKI) {
	t.Helper()
	p = testpki.New(t)
	dir = t.TempDir()
	in := pdftest.OnePage("BT /F1 12 Tf 72 720 Td (keiyaku CLI) Tj ET").Bytes()
	var out bytes.Buffer
	err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Field: "Registrant", SigningTime: testpki.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	signed := out.Bytes()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("signed.pdf", signed)
	tampered := bytes.Replace(signed, []byte("keiyaku CLI"), []byte("keiyaku XXX"), 1)
	if bytes.Equal(tampered, signed) {
		t.Fatal("tampering changed nothing")
	}
	write("tampered.pdf", tampered)
	write("unsigned.pdf", in)
	write("not-a-pdf.pdf", []byte("hello"))
	f := p.WritePEM(t, dir, p.Root)
	if err := os.Rename(f.Root, filepath.Join(dir, "root.pem")); err != nil {
		t.Fatal(err)
	}
	return dir, p
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestExitCodes(t *testing.T) {
	dir, _ := fixtures(t)
	at := "-at=" + testpki.Now.Format(time.RFC3339)
	trust := "-trust=" + filepath.Join(dir, "root.pem")
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"signed and trusted passes", []string{trust, at, "-revocation=off", filepath.Join(dir, "signed.pdf")}, 0},
		{"untrusted does not pass", []string{at, "-revocation=off", filepath.Join(dir, "signed.pdf")}, 1},
		{"tampered does not pass", []string{trust, at, filepath.Join(dir, "tampered.pdf")}, 1},
		{"unsigned does not pass", []string{trust, at, filepath.Join(dir, "unsigned.pdf")}, 1},
		{"any failure fails the run", []string{trust, at, "-revocation=off", filepath.Join(dir, "signed.pdf"), filepath.Join(dir, "tampered.pdf")}, 1},
		{"not a PDF exits 2, as the README says", []string{trust, at, filepath.Join(dir, "not-a-pdf.pdf")}, 2},
		{"not a PDF among passing files exits 2", []string{trust, at, "-revocation=off", filepath.Join(dir, "signed.pdf"), filepath.Join(dir, "not-a-pdf.pdf")}, 2},
		{"-h prints usage and exits 0", []string{"-h"}, 0},
		{"-help prints usage and exits 0", []string{"-help", filepath.Join(dir, "signed.pdf")}, 0},
		{"missing file is a usage error", []string{trust, filepath.Join(dir, "nope.pdf")}, 2},
		{"no file is a usage error", []string{trust}, 2},
		{"bad -at", []string{"-at=yesterday", filepath.Join(dir, "signed.pdf")}, 2},
		{"bad -revocation", []string{"-revocation=maybe", filepath.Join(dir, "signed.pdf")}, 2},
		{"bad -trust", []string{"-trust=" + filepath.Join(dir, "signed.pdf"), filepath.Join(dir, "signed.pdf")}, 2},
		{"unknown flag", []string{"-frobnicate", filepath.Join(dir, "signed.pdf")}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.want, out, errOut)
			}
		})
	}
}

// TestJSONContract pins the -json output: one object a line, exactly these
// snake_case names, which other tools rely on.
func TestJSONContract(t *testing.T) {
	dir, p := fixtures(t)
	code, out, errOut := runCLI(t, "-json", "-trust="+filepath.Join(dir, "root.pem"), "-at="+testpki.Now.Format(time.RFC3339), "-revocation=off",
		filepath.Join(dir, "signed.pdf"), filepath.Join(dir, "tampered.pdf"), filepath.Join(dir, "not-a-pdf.pdf"))
	if code != 2 { // the not-a-PDF file
		t.Fatalf("exit %d, want 2; stderr: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want one line per file, got %d:\n%s", len(lines), out)
	}
	var objs []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, l)
		}
		objs = append(objs, m)
	}
	fileKeys := []string{"file", "pades_level", "passed", "sha256", "signatures", "size"}
	sigKeys := []string{"claimed_signing_time", "coverage", "crypto_intact", "field", "indication", "kind", "modification", "pades_level", "reasons", "revision", "signer", "sub_filter", "sub_indication", "timestamp"}
	signerKeys := []string{"issuer", "not_after", "not_before", "serial", "subject"}

	good := objs[0]
	if got := keys(good); !reflect.DeepEqual(got, fileKeys) {
		t.Errorf("file keys %v, want %v", got, fileKeys)
	}
	if good["file"] != filepath.Join(dir, "signed.pdf") || good["passed"] != true || good["pades_level"] != "B-B" {
		t.Errorf("signed.pdf: %v", good)
	}
	signedBytes, err := os.ReadFile(filepath.Join(dir, "signed.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(signedBytes); good["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 %q, want the file's %x", good["sha256"], sum)
	}
	sigs := good["signatures"].([]any)
	if len(sigs) != 1 {
		t.Fatalf("want 1 signature, got %d", len(sigs))
	}
	sig := sigs[0].(map[string]any)
	if got := keys(sig); !reflect.DeepEqual(got, sigKeys) {
		t.Errorf("signature keys %v, want %v", got, sigKeys)
	}
	want := map[string]any{"field": "Registrant", "kind": "signature", "sub_filter": "ETSI.CAdES.detached", "revision": float64(2),
		"indication": "TOTAL_PASSED", "sub_indication": "", "crypto_intact": true, "coverage": "entire_file", "modification": "none", "pades_level": "B-B", "timestamp": nil}
	for k, v := range want {
		if sig[k] != v {
			t.Errorf("signature %s = %v, want %v", k, sig[k], v)
		}
	}
	signer := sig["signer"].(map[string]any)
	if got := keys(signer); !reflect.DeepEqual(got, signerKeys) {
		t.Errorf("signer keys %v, want %v", got, signerKeys)
	}
	if !strings.Contains(signer["subject"].(string), p.ECDSAP256.Cert.Subject.CommonName) {
		t.Errorf("signer subject %v", signer["subject"])
	}

	bad := objs[1]
	if bad["passed"] != false {
		t.Errorf("tampered passed")
	}
	bsig := bad["signatures"].([]any)[0].(map[string]any)
	if bsig["indication"] != "TOTAL_FAILED" || bsig["sub_indication"] != "HASH_FAILURE" || bsig["crypto_intact"] != false {
		t.Errorf("tampered: %v", bsig)
	}
	if r, _ := bsig["reasons"].([]any); len(r) == 0 {
		t.Errorf("tampered: no reasons")
	}

	notPDF := objs[2]
	if e, _ := notPDF["error"].(string); e == "" || notPDF["passed"] != false {
		t.Errorf("not a PDF: want an error and passed=false, got %v", notPDF)
	}
}

func TestTextOutput(t *testing.T) {
	dir, p := fixtures(t)
	code, out, _ := runCLI(t, "-trust="+filepath.Join(dir, "root.pem"), "-at="+testpki.Now.Format(time.RFC3339), "-revocation=off", filepath.Join(dir, "signed.pdf"))
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"Signature #1", `"Registrant"`, "TOTAL_PASSED", p.ECDSAP256.Cert.Subject.CommonName, "entire_file", "PASSED: every signature is valid"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
