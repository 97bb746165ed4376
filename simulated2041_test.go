package keiyaku_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/archive/ers/erstest"
	"github.com/keiyaku/keiyaku/bulkverify"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
)

// simTSA issues a TSA certificate (sole, critical id-kp-timeStamping, RFC
// 3161 §2.3) from the test PKI's Root, valid from nb to na, whose CRL is
// the Root's (served by the PKI), so that sealing and renewal find its
// revocation data. TSAs hang off the Root here because the signers' CA
// (Intermediate) is revoked in the scenario.
func simTSA(t testing.TB, p *testpki.PKI, cn string, nb, na time.Time, serial int64) *testpki.Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{Organization: []string{"keiyaku test"}, CommonName: cn},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature,
		CRLDistributionPoints: []string{p.RootCRLURL},
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.Root.Cert, key.Public(), p.Root.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testpki.Cert{Name: cn, Key: key, Cert: c}
}

// sim is the simulated deployment: a world whose clock moves, whose TSA
// and renewal policy change when the service is reopened, as an operator
// would change them over the years.
type sim struct {
	w     *world
	clock *clockVar
	tsa   *testpki.Cert
	weak  []crypto.Hash
	cases []*casework.Case
	owner []*member // who registered each case
	// sealed are the sealed files of each case as completed in 2026.
	sealed [][]casework.File
}

func ym(year int, month time.Month) time.Time { return time.Date(year, month, 1, 0, 0, 0, 0, time.UTC) }

// fiscal2026 is the Japanese fiscal year 2026 (April 2026 to March 2027).
var fiscal2026 = &bulkverify.Request{CompletedFrom: civil.Date{Year: 2026, Month: 4, Day: 1}, CompletedTo: civil.Date{Year: 2027, Month: 3, Day: 31}}

// newSim opens the service in June 2026 with TSA 1 (valid to 2031) and
// completes two cases, each with a supplementary file.
func newSim(t *testing.T, tsa1 func(p *testpki.PKI) *testpki.Cert) *sim {
	s := &sim{clock: newClockVar(ym(2026, 6))}
	s.w = newWorldWith(t, func(w *world, cfg *keiyaku.Config) {
		if s.tsa == nil {
			s.tsa = tsa1(w.pki)
		}
		cfg.Clock = s.clock.now
		cfg.TSA = keiyaku.TSAConfig{Signer: s.tsa.Key, Certificate: s.tsa.Cert, TrustAnchors: []*x509.Certificate{w.pki.Root.Cert}}
		cfg.Renewal.Weak = s.weak
	})
	s.w.pki.SetNow(s.clock.now())
	m := s.w.m
	for _, pair := range [][2]*member{{m["A"], m["B"]}, {m["C"], m["D"]}} {
		c := s.w.complete(s.w.registerWithFile(pair[0], pair[1], "2026 契約 "+pair[0].Key+pair[1].Key, "見積書 "+pair[0].Company), pair[0], pair[1])
		s.cases = append(s.cases, c)
		s.owner = append(s.owner, pair[0])
		s.sealed = append(s.sealed, append([]casework.File(nil), c.Sealed...))
	}
	return s
}

// at moves the world (service clock and PKI responders) to t.
func (s *sim) at(t time.Time) {
	s.clock.set(t)
	s.w.pki.SetNow(t)
}

// reopen restarts the service, as a deployment does to change its TSA or
// its renewal policy.
func (s *sim) reopen(tsa *testpki.Cert, weak []crypto.Hash) {
	s.w.t.Helper()
	if err := s.w.svc.Close(); err != nil {
		s.w.t.Fatal(err)
	}
	s.tsa, s.weak = tsa, weak
	s.w.svc = s.w.open()
}

// admin is the administrator of the company that registered case i.
func (s *sim) admin(i int) account.Principal {
	a := s.owner[i]
	return account.Principal{UserID: a.P.UserID, CompanyID: a.P.CompanyID, Admin: true}
}

// bulk runs bulk verification of fiscal 2026 for company A and company C
// and returns the rows.
func (s *sim) bulk() []*bulkverify.Row {
	s.w.t.Helper()
	var rows []*bulkverify.Row
	for _, k := range []string{"A", "C"} {
		m := s.w.m[k]
		admin := account.Principal{UserID: m.P.UserID, CompanyID: m.P.CompanyID, Admin: true}
		var sink rowSink
		sum, err := s.w.svc.Bulk.Run(s.w.ctx, admin, fiscal2026, &sink)
		if err != nil {
			s.w.t.Fatal(err)
		}
		if sum.Cases != 1 || sum.Objects != len(sink.rows) {
			s.w.t.Fatalf("bulk verification for %s: %+v", k, sum)
		}
		rows = append(rows, sink.rows...)
	}
	return rows
}

// rowSink collects the rows of a bulk verification.
type rowSink struct{ rows []*bulkverify.Row }

func (r *rowSink) Row(row *bulkverify.Row) error   { r.rows = append(r.rows, row); return nil }
func (r *rowSink) Close(*bulkverify.Summary) error { return nil }

func rowLine(r *bulkverify.Row) string {
	return fmt.Sprintf("%s %s %s: %s %s", r.File, r.Kind, r.Object, r.Result, r.Reason)
}

// TestSimulated2041: the whole facade on a fake clock from 2026 to 2041.
// Contracts and files are sealed in June 2026 by TSA 1 (valid to 2031);
// the signers' certificates expire in 2028 and their CA (Intermediate) is
// revoked in 2029, after signing. The renewal pass runs every half year
// as Service.RunJobs would run it; the deployment switches to TSA 2 in
// 2030 (the pass renews the PDFs and records with it), declares SHA-256
// weak in 2033 (hash-tree renewal to SHA-512) and switches to TSA 3 in
// 2035 (renewal again). In 2041 original verification says original for
// each sealed PDF and every file, each record names TSA 1, 2 and 3 in its
// stamps, and bulk verification of fiscal 2026 passes every object;
// Bouncy Castle and openssl check the 2041 records. With the renewal off
// the same evidence is INDETERMINATE after 2031, and one flipped byte in
// any object fails that object only. Each renewal keeps the old TSA's
// status (the Root's CRL) in the record's cryptoInfos.
func TestSimulated2041(t *testing.T) {
	var tsa2, tsa3 *testpki.Cert
	s := newSim(t, func(p *testpki.PKI) *testpki.Cert {
		tsa2 = simTSA(t, p, "Sim TSA 2 (2029-2036)", ym(2029, 6), ym(2036, 6), 9102)
		tsa3 = simTSA(t, p, "Sim TSA 3 (2034-2044)", ym(2034, 6), ym(2044, 12), 9103)
		return simTSA(t, p, "Sim TSA 1 (2025-2031)", ym(2025, 1), ym(2031, 1), 9101)
	})
	w := s.w
	if rows := s.bulk(); len(rows) == 0 {
		t.Fatal("no rows in 2026")
	} else {
		for _, r := range rows {
			if r.Result != bulkverify.Passed {
				t.Fatalf("2026: %s", rowLine(r))
			}
		}
	}

	type step struct {
		at   time.Time
		tsa  *testpki.Cert // switch to it before the pass
		weak []crypto.Hash
		// want: sealed PDFs renewed, records renewed, records rehashed
		pdfs, renewed, rehashed int
	}
	sha256Weak := []crypto.Hash{crypto.SHA256}
	var steps []step
	for y := 2026; y <= 2041; y++ {
		for _, m := range []time.Month{1, 7} {
			if y == 2026 && m == 1 {
				continue
			}
			st := step{at: ym(y, m)}
			switch {
			case y == 2029 && m == 7:
				st.tsa = tsa2 // the operator changes TSA
			case y == 2033 && m == 1:
				st.weak = sha256Weak // the policy declares SHA-256 weak
			case y == 2034 && m == 7:
				st.tsa = tsa3
			}
			switch {
			case y == 2030 && m == 1: // TSA 1 expires within a year
				st.pdfs, st.renewed = 2, 4
			case y == 2033 && m == 1:
				st.rehashed = 4
			case y == 2035 && m == 7: // TSA 2 expires within a year
				st.pdfs, st.renewed = 2, 4
			}
			steps = append(steps, st)
		}
	}
	revoked := false
	for _, st := range steps {
		s.at(st.at)
		if !revoked && !st.at.Before(ym(2029, 6)) {
			w.pki.Revoke(w.pki.Intermediate, ym(2029, 6)) // the signers' CA, after signing
			revoked = true
		}
		if st.tsa != nil {
			s.reopen(st.tsa, s.weak)
		}
		if st.weak != nil {
			s.reopen(s.tsa, st.weak)
		}
		rep, err := w.svc.Renewal.RenewDue(w.ctx)
		if err != nil {
			t.Fatalf("%s: renewal pass: %v", st.at.Format("2006-01"), err)
		}
		if rep.PDFs != st.pdfs || rep.Renewed != st.renewed || rep.Rehashed != st.rehashed || rep.PDFsChecked != 2 || rep.Checked != 4 {
			t.Fatalf("%s: pass %+v; want %d PDFs, %d renewed, %d rehashed", st.at.Format("2006-01"), rep, st.pdfs, st.renewed, st.rehashed)
		}
	}

	// 2041: original.
	s.at(ym(2041, 6))
	var records []*ers.EvidenceRecord
	var objects [][]byte
	for ci, c := range s.cases {
		oc, err := w.svc.VerifyOriginal(w.ctx, s.admin(ci), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !oc.Original || len(oc.PDFs) != 1 || len(oc.Files) != 1 {
			t.Fatalf("2041, case %d: original %v, %d PDFs, %d files", ci, oc.Original, len(oc.PDFs), len(oc.Files))
		}
		pv := oc.PDFs[0]
		if !pv.Verdict.Original || pv.Record == nil || !pv.Record.Original || !pv.Verdict.TSANotAfter.Equal(ym(2044, 12)) {
			t.Fatalf("2041, case %d PDF: %v; record %+v", ci, pv.Verdict.Reasons, pv.Record)
		}
		for _, v := range []struct {
			name string
			ok   bool
			tsas []string
		}{{pv.File.Name, pv.Record.Original, tokenTSAs(pv.Record.Tokens)}, {oc.Files[0].File.Name, oc.Files[0].Verdict.Original, tokenTSAs(oc.Files[0].Verdict.Tokens)}} {
			// Each record says which TSA stamped it: TSA 1 in 2026, TSA 2
			// in 2030 and for the SHA-512 tree in 2033, TSA 3 in 2035.
			if got := strings.Join(v.tsas, " | "); !v.ok || !tsaOrder(v.tsas, "TSA 1", "TSA 2", "TSA 2", "TSA 3") {
				t.Fatalf("2041, case %d, %s: original %v, stamped by %s", ci, v.name, v.ok, got)
			}
		}
		// The records and what they prove, for Bouncy Castle and openssl:
		// the PDF as sealed in 2026 and the supplementary file.
		for _, f := range oc.Files {
			objects = append(objects, readBlob(t, w, f.File))
			records = append(records, parseRecord(t, w, f.Token))
		}
		objects = append(objects, readBlob(t, w, s.sealed[ci][0]))
		records = append(records, parseRecord(t, w, pv.Evidence))
	}
	rows := s.bulk()
	for _, r := range rows {
		if r.Result != bulkverify.Passed {
			t.Errorf("2041 bulk verification: %s", rowLine(r))
		}
	}
	for i, verdict := range erstest.BouncyCastle(t, ym(2041, 6), records, objects) {
		if verdict != "OK" {
			t.Errorf("Bouncy Castle on record %d: %s", i, verdict)
		}
	}
	for _, rec := range records {
		if len(rec.Chains) != 2 || rec.Chains[1][0].Hash != crypto.SHA512 {
			t.Errorf("a 2041 record has %d chains; want the SHA-256 one and the SHA-512 one", len(rec.Chains))
		}
		// The old TSAs' status at each renewal is kept with the record
		// (cryptoInfos): the Root's CRL as of 2030, 2033 and 2035.
		if vd, err := rec.ValidationData(); err != nil || len(vd.CRLs) != 3 {
			t.Errorf("a 2041 record keeps %d CRLs (%v); want one per renewal", len(vd.CRLs), err)
		}
		erstest.OpenSSL(t, w.pki.Root.Cert, rec)
	}

	// One flipped byte in any stored object: that object fails, the rest
	// pass (bulk verification reads the blobs as stored).
	c0 := s.cases[0]
	cur, err := w.svc.Cases.Get(w.ctx, s.admin(0), c0.ID)
	if err != nil {
		t.Fatal(err)
	}
	flipChecks(t, w, cur)
	for _, f := range append(append([]casework.File(nil), cur.Sealed...), cur.Supplements...) {
		t.Run("flip "+f.Name, func(t *testing.T) {
			path := filepath.Join(w.dir, "blobs", "sha256", f.Key)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			flipped := bytes.Clone(orig)
			flipped[len(flipped)/2] ^= 1
			if err := os.WriteFile(path, flipped, 0o600); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := os.WriteFile(path, orig, 0o600); err != nil {
					t.Fatal(err)
				}
			}()
			failed := 0
			for _, r := range s.bulk() {
				hit := r.CaseID == c0.ID && (r.File == f.Name || r.File+".ers" == f.Name && r.Kind == bulkverify.KindEvidenceRecord)
				switch {
				case hit && r.Result == bulkverify.Failed:
					failed++
				case !hit && r.Result != bulkverify.Passed:
					t.Errorf("an object not flipped: %s", rowLine(r))
				}
			}
			if failed == 0 {
				t.Errorf("flipping %s failed nothing", f.Name)
			}
		})
	}
}

// flipChecks: the 2041 evidence itself (not only the blob store's
// hashes) fails a flipped byte: in the PDF as sealed (its record), in the
// renewed PDF's signed bytes (its signatures), in the supplementary file
// (its record); the untouched objects stay original.
func flipChecks(t *testing.T, w *world, cur *casework.Case) {
	t.Helper()
	var pdf, pdfRec, sup, supRec casework.File
	for _, f := range cur.Sealed {
		switch f.Name {
		case "c.sealed.pdf":
			pdf = f
		case "c.sealed.pdf.ers":
			pdfRec = f
		case "estimate.txt.ers":
			supRec = f
		}
	}
	sup = cur.Supplements[0]
	pdfBytes, supBytes := readBlob(t, w, pdf), readBlob(t, w, sup)
	pdfDER, supDER := readBlob(t, w, pdfRec), readBlob(t, w, supRec)
	verify := func(pdfB, supB []byte) (pdfOK, recOK, recFailed, supOK, supFailed bool) {
		pv, err := w.svc.Archive.VerifyPDF(w.ctx, bytes.NewReader(pdfB), int64(len(pdfB)), nil)
		if err != nil {
			t.Fatal(err)
		}
		rv, err := w.svc.Archive.VerifyPDFRecord(w.ctx, bytes.NewReader(pdfB), int64(len(pdfB)), pv.Report, pdfDER, nil)
		if err != nil {
			t.Fatal(err)
		}
		sv, err := w.svc.Archive.VerifyFile(w.ctx, bytes.NewReader(supB), supDER, nil)
		if err != nil {
			t.Fatal(err)
		}
		return pv.Original, rv.Original, rv.Failed, sv.Original, sv.Failed
	}
	if p, r, _, s, _ := verify(pdfBytes, supBytes); !p || !r || !s {
		t.Fatalf("2041 untouched: PDF %v, its record %v, file %v", p, r, s)
	}
	// A byte of the first page's content stream, inside every signature's
	// and document timestamp's byte range and in the PDF as sealed.
	at := bytes.Index(pdfBytes, []byte("BT /F1"))
	if at < 0 {
		t.Fatal("test setup: no content stream")
	}
	flipped := bytes.Clone(pdfBytes)
	flipped[at+1] ^= 1
	if p, r, rf, s, _ := verify(flipped, supBytes); p || r || !rf || !s {
		t.Fatalf("a flipped byte in the PDF: PDF original %v, record original %v failed %v, file original %v", p, r, rf, s)
	}
	flippedSup := bytes.Clone(supBytes)
	flippedSup[len(flippedSup)/2] ^= 1
	if p, r, _, s, sf := verify(pdfBytes, flippedSup); !p || !r || s || !sf {
		t.Fatalf("a flipped byte in the file: PDF original %v, record %v, file original %v failed %v", p, r, s, sf)
	}
}

// TestSimulated2041NoRenewal: the same deployment with the renewal pass
// off: original until TSA 1 expires (2031), then INDETERMINATE — not
// FAILED: the evidence proves nothing either way any more.
func TestSimulated2041NoRenewal(t *testing.T) {
	s := newSim(t, func(p *testpki.PKI) *testpki.Cert {
		return simTSA(t, p, "Sim TSA 1 (2025-2031)", ym(2025, 1), ym(2031, 1), 9101)
	})
	w := s.w
	s.at(ym(2029, 6))
	w.pki.Revoke(w.pki.Intermediate, ym(2029, 6))
	s.at(ym(2030, 12))
	for i, c := range s.cases {
		oc, err := w.svc.VerifyOriginal(w.ctx, s.admin(i), c.ID)
		if err != nil || !oc.Original {
			t.Fatalf("December 2030, no renewal: %v %+v", err, oc)
		}
	}
	for _, y := range []int{2031, 2035, 2041} {
		s.at(ym(y, 6))
		for i, c := range s.cases {
			oc, err := w.svc.VerifyOriginal(w.ctx, s.admin(i), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if oc.Original {
				t.Fatalf("%d, no renewal: original", y)
			}
			pv := oc.PDFs[0]
			for _, e := range pv.Verdict.Report.Signatures {
				if e.Indication == signature.TotalFailed {
					t.Fatalf("%d, no renewal: %s %q is TOTAL_FAILED; want INDETERMINATE: %v", y, e.Kind, e.Field, e.Reasons)
				}
			}
			for _, v := range []struct {
				name           string
				original, fail bool
			}{{pv.File.Name, pv.Record.Original, pv.Record.Failed}, {oc.Files[0].File.Name, oc.Files[0].Verdict.Original, oc.Files[0].Verdict.Failed}} {
				if v.original || v.fail {
					t.Fatalf("%d, no renewal, %s: original %v failed %v; want INDETERMINATE", y, v.name, v.original, v.fail)
				}
			}
		}
		// Bulk verification: nothing FAILED, and neither a sealed PDF nor
		// a record PASSED.
		for _, r := range s.bulk() {
			if r.Result == bulkverify.Failed || r.Result == bulkverify.Passed && (r.Kind == bulkverify.KindSealedPDF || r.Kind == bulkverify.KindEvidenceRecord) {
				t.Errorf("%d, no renewal, bulk: %s", y, rowLine(r))
			}
		}
	}
}

func tokenTSAs(ts []archive.TokenCheck) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.TSA)
	}
	return out
}

// tsaOrder reports whether the stamps' TSAs contain want in order, one
// each.
func tsaOrder(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			return false
		}
	}
	return true
}

func readBlob(t *testing.T, w *world, f casework.File) []byte {
	t.Helper()
	b, err := w.svc.Blobs.ReadAll(w.ctx, f.Key, f.Size)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseRecord(t *testing.T, w *world, f casework.File) *ers.EvidenceRecord {
	t.Helper()
	rec, err := ers.Parse(readBlob(t, w, f))
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return rec
}
