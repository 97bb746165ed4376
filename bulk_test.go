package keiyaku_test

import (
	"bytes"
	"cloud.google.com/go/civil"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/bulkverify"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

// registerWithFile registers a 1:1 case from a to b with one
// supplementary file.
func (w *world) registerWithFile(a, b *member, name, file string) *casework.Case {
	w.t.Helper()
	c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
		Form: casework.FormBilateral, Name: name, Amount: casework.Money{Amount: 1, Currency: "JPY"},
		TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b)},
		Document:    upload("c.pdf", w.sign(a, contract(name))),
		Supplements: []casework.Upload{{Name: "estimate.txt", ContentType: "text/plain", Body: strings.NewReader(file)}},
	})
	if err != nil {
		w.t.Fatalf("Register: %v", err)
	}
	return c
}

// TestBulkVerification: 一括検証 of a period's completed cases reports every
// signature, document timestamp, sealed PDF and evidence record as passed,
// in CSV, JSON and PDF; a byte changed in storage fails that object only.
func TestBulkVerification(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	var cases []*casework.Case
	for i, name := range []string{"業務委託契約 1", "Service agreement 2", "秘密保持契約 3"} {
		cases = append(cases, w.complete(w.registerWithFile(a, b, name, strings.Repeat("見積 ", i+1)), a, b))
	}
	admin := account.Principal{UserID: a.P.UserID, CompanyID: a.P.CompanyID, Admin: true}
	day := 24 * time.Hour
	period := &bulkverify.Request{CompletedFrom: civil.DateOf(testpki.Now.Add(-day)), CompletedTo: civil.DateOf(testpki.Now.Add(day))}

	var csvOut, jsonOut, pdfOut bytes.Buffer
	progress := 0
	period.Progress = func(cases, objects int) { progress = cases }
	sum, err := w.svc.Bulk.Run(w.ctx, admin, period, bulkverify.Tee{
		bulkverify.NewCSVWriter(&csvOut), bulkverify.NewJSONWriter(&jsonOut), bulkverify.NewPDFWriter(&pdfOut, "Ikkatsu kensho / bulk verification"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Cases != 3 || progress != 3 || sum.Objects == 0 || sum.Passed != sum.Objects || sum.Failed+sum.Indeterminate != 0 || !sum.At.Equal(testpki.Now) {
		t.Fatalf("summary %+v (progress %d)", sum, progress)
	}

	var report struct {
		Rows    []bulkverify.Row   `json:"rows"`
		Summary bulkverify.Summary `json:"summary"`
	}
	if err := json.Unmarshal(jsonOut.Bytes(), &report); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s", err, jsonOut.String())
	}
	if len(report.Rows) != sum.Objects || report.Summary.Passed != sum.Passed {
		t.Fatalf("JSON: %d rows, summary %+v", len(report.Rows), report.Summary)
	}
	kinds := map[string]map[string]int{}
	for _, r := range report.Rows {
		if kinds[r.CaseID] == nil {
			kinds[r.CaseID] = map[string]int{}
		}
		kinds[r.CaseID][r.Kind]++
	}
	for _, c := range cases {
		k := kinds[c.ID]
		if k[bulkverify.KindSignature] != 2 || k[bulkverify.KindDocumentTimestamp] != 1 || k[bulkverify.KindSealedPDF] != 1 || k[bulkverify.KindEvidenceRecord] != 2 {
			t.Fatalf("case %s rows by kind: %v; want 2 signatures, a document timestamp, the sealed PDF and 2 evidence records", c.ID, k)
		}
	}
	lines, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatalf("the CSV report does not parse: %v", err)
	}
	if len(lines) != 1+sum.Objects+11 || lines[0][0] != "case_id" || lines[1+sum.Objects][0] != "#" {
		t.Fatalf("CSV: %d lines", len(lines))
	}

	dir := t.TempDir()
	pdfPath := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(pdfPath, pdfOut.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(testenv.Command(t, "qpdf", "qpdf"), "--check", pdfPath).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check of the PDF report: %v\n%s", err, out)
	}
	text, err := exec.Command(testenv.Command(t, "pdftotext", "poppler-utils"), "-layout", pdfPath, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(^|[^_])PASSED`).FindAll(text, -1)); n != sum.Objects || !strings.Contains(string(text), "Service agreement 2") {
		t.Fatalf("the PDF report's text:\n%s", text)
	}

	// Another period, another company: nothing.
	none, err := w.svc.Bulk.Run(w.ctx, admin, &bulkverify.Request{CompletedTo: civil.DateOf(testpki.Now.Add(-day))}, bulkverify.NewCSVWriter(&bytes.Buffer{}))
	if err != nil || none.Cases != 0 {
		t.Fatalf("earlier period: %+v %v", none, err)
	}
	c := w.m["C"]
	other, err := w.svc.Bulk.Run(w.ctx, account.Principal{UserID: c.P.UserID, CompanyID: c.P.CompanyID, Admin: true}, period, bulkverify.NewCSVWriter(&bytes.Buffer{}))
	if err != nil || other.Cases != 0 {
		t.Fatalf("a company not party to the cases: %+v %v", other, err)
	}

	// One changed byte in one supplementary file: that object fails, the
	// rest pass.
	sup := cases[1].Supplements[0]
	path := filepath.Join(w.dir, "blobs", "sha256", sup.Key)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	jsonOut.Reset()
	period.Progress = nil
	sum2, err := w.svc.Bulk.Run(w.ctx, admin, period, bulkverify.NewJSONWriter(&jsonOut))
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Failed != 1 || sum2.Passed != sum.Objects-1 {
		t.Fatalf("after a changed byte: %+v", sum2)
	}
	report.Rows = nil
	if err := json.Unmarshal(jsonOut.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	for _, r := range report.Rows {
		if r.Result == bulkverify.Failed && (r.CaseID != cases[1].ID || r.File != sup.Name || r.Kind != bulkverify.KindEvidenceRecord) {
			t.Fatalf("the failed row is %+v", r)
		}
	}
}
