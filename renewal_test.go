package keiyaku_test

import (
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/timestamp"
)

// movingTSA is a Timestamper on a TSA certificate that can be changed, with
// the world's clock, as a deployment's TSA changes over the years.
type movingTSA struct {
	mu    sync.Mutex
	pki   *testpki.PKI
	cert  *testpki.Cert
	clock func() time.Time
	down  error // when set, every request fails with it
}

func (m *movingTSA) use(c *testpki.Cert) { m.mu.Lock(); m.cert = c; m.mu.Unlock() }

func (m *movingTSA) Timestamp(ctx context.Context, digest []byte) (*timestamp.Token, error) {
	m.mu.Lock()
	c, down := m.cert, m.down
	m.mu.Unlock()
	if down != nil {
		return nil, down
	}
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: c.Key, Certificate: c.Cert, Chain: []*x509.Certificate{m.pki.Intermediate.Cert},
		Policy: testpki.PolicyOID, Clock: m.clock, Serials: timestamp.NewMemorySerialStore(m.clock().UnixNano()),
	})
	if err != nil {
		return nil, err
	}
	return signature.AuthorityTimestamper(a).Timestamp(ctx, digest)
}

// clockVar is a settable clock.
type clockVar struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clockVar) now() time.Time         { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clockVar) set(t time.Time)        { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func newClockVar(t time.Time) *clockVar    { return &clockVar{t: t} }
func (c *clockVar) Func() func() time.Time { return c.now }

// renewalWorld is a world whose clock and TSA can move.
func renewalWorld(t testing.TB) (*world, *clockVar, *movingTSA) {
	clock := newClockVar(testpki.Now)
	var tsa *movingTSA
	w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) {
		if tsa == nil {
			tsa = &movingTSA{pki: w.pki, cert: w.pki.TSA, clock: clock.now}
		}
		cfg.Clock = clock.now
		cfg.TSA.Timestamper = tsa
		cfg.TSA.TrustAnchors = []*x509.Certificate{w.pki.Root.Cert}
	})
	return w, clock, tsa
}

// TestRenewalPass: records and the sealed PDF sealed by TSA 1 (to 2030)
// and renewed by TSA 2 (to 2036) a year before TSA 1 expires keep the
// files original after 2030 (the PDF through its own new document
// timestamp, its record against the PDF as sealed); a second pass finds
// nothing due; without the pass the records prove nothing (INDETERMINATE,
// not FAILED). Each renewal is in the audit trail.
func TestRenewalPass(t *testing.T) {
	w, clock, tsa := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, b, "renewal", "見積書"), a, b)
	before := map[string]string{}
	for _, f := range c.Sealed {
		before[f.Name] = f.Key
	}
	r := w.svc.Renewal
	// Nothing is due in 2026.
	if rep, err := r.RenewDue(w.ctx); err != nil || rep.Renewed != 0 || rep.Checked != 2 || rep.PDFsChecked != 1 || rep.PDFs != 0 {
		t.Fatalf("2026 pass: %+v %v", rep, err)
	}
	clock.set(testpki.TSANotAfter.AddDate(0, -10, 0)) // within a year of TSA 1's expiry
	tsa.use(w.pki.TSA2)
	w.pki.SetNow(clock.now()) // the responders answer as of the renewal
	rep, err := r.RenewDue(w.ctx)
	if err != nil || rep.Renewed != 2 || rep.PDFs != 1 || rep.Cases != 1 {
		t.Fatalf("renewal pass: %+v %v", rep, err)
	}
	if rep, err := r.RenewDue(w.ctx); err != nil || rep.Renewed != 0 || rep.PDFs != 0 {
		t.Fatalf("a second pass renews again: %+v %v", rep, err)
	}
	renewed, err := w.svc.Cases.Get(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range renewed.Sealed {
		if before[f.Name] == f.Key {
			t.Errorf("%s: not renewed", f.Name)
		}
	}
	trail, err := w.svc.Cases.AuditTrail(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := trail[len(trail)-1]; last.Action != "case.evidence_renewed" || last.ActorUserID != "system:renewal" {
		t.Fatalf("last audit entry %+v", last)
	}

	clock.set(testpki.TSANotAfter.AddDate(1, 0, 0))
	oc, err := w.svc.VerifyOriginal(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := oc.PDFs[0].Record; r == nil || !r.Original || len(r.Tokens) != 2 {
		t.Fatalf("the sealed PDF's record after TSA 1 expired: %+v", r)
	}
	if v := oc.PDFs[0].Verdict; !v.Original || !v.TSANotAfter.Equal(testpki.TSA2NotAfter) {
		t.Fatalf("the sealed PDF after TSA 1 expired: %v (newest seal until %v)", v.Reasons, v.TSANotAfter)
	}
	if f := oc.Files[0].Verdict; !f.Original {
		t.Fatalf("the supplementary file after TSA 1 expired: %v", f.Reasons)
	}
	// The evidence as it was before renewal proves nothing by now.
	old := c.Sealed[len(c.Sealed)-1]
	if old.Key != before[old.Name] {
		t.Fatal("test setup: want the old record")
	}
	sup := c.Supplements[0]
	rc, err := w.svc.Blobs.Open(w.ctx, sup.Key, sup.Size)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	der, err := w.svc.Blobs.ReadAll(w.ctx, old.Key, old.Size)
	if err != nil {
		t.Fatal(err)
	}
	v, err := w.svc.Archive.VerifyFile(w.ctx, rc, der, nil)
	if err != nil || v.Original || v.Failed {
		t.Fatalf("the unrenewed record after TSA 1 expired: original %v failed %v err %v; want INDETERMINATE", v.Original, v.Failed, err)
	}
}

// TestRenewalConvertsOldTokens: a case completed before evidence records
// (its supplementary file's evidence an RFC 3161 token, "X.tst") gets the
// token converted into a record by the pass, and stays original after
// the token's TSA expired.
func TestRenewalConvertsOldTokens(t *testing.T) {
	w, clock, tsa := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, b, "old case", "古い添付"), a, b)
	// Make it as the service sealed before records: the file's evidence
	// is a token.
	sup := c.Supplements[0]
	rc, err := w.svc.Blobs.Open(w.ctx, sup.Key, sup.Size)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.svc.Archive.StampFile(w.ctx, rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	key, size, err := w.svc.Blobs.PutBytes(w.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := w.svc.Store.GetCase(w.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range rec.Sealed {
		if f.Name == "estimate.txt.ers" {
			rec.Sealed[i] = storage.File{Name: "estimate.txt.tst", ContentType: "application/timestamp-reply", Key: key, Size: size}
		}
	}
	audit := storage.AuditEntry{Time: testpki.Now, ActorUserID: "test", Action: "test.old_evidence", CaseID: c.ID}
	if err := w.svc.Store.CommitCase(w.ctx, &storage.CaseCommit{Case: rec, Audit: []storage.AuditEntry{audit}}); err != nil {
		t.Fatal(err)
	}
	if oc, err := w.svc.VerifyOriginal(w.ctx, a.P, c.ID); err != nil || !oc.Files[0].Verdict.Original || oc.Files[0].Verdict.Record {
		t.Fatalf("the old case before conversion: %v %+v", err, oc)
	}

	clock.set(testpki.TSANotAfter.AddDate(0, -10, 0))
	tsa.use(w.pki.TSA2)
	rep, err := w.svc.Renewal.RenewDue(w.ctx)
	if err != nil || rep.Converted != 1 {
		t.Fatalf("pass: %+v %v", rep, err)
	}
	clock.set(testpki.TSANotAfter.AddDate(1, 0, 0))
	oc, err := w.svc.VerifyOriginal(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f := oc.Files[0]; !f.Verdict.Original || !f.Verdict.Record || f.Token.Name != "estimate.txt.ers" {
		t.Fatalf("after conversion, past the token's TSA expiry: %s %+v", f.Token.Name, f.Verdict)
	}
}

// TestReplaceSealedRefuses: a replacement that renames a file, one for a
// case not completed, and one on a stale read are refused and change
// nothing.
func TestReplaceSealedRefuses(t *testing.T) {
	w, _, _ := renewalWorld(t)
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, b, "refusals", "x"), a, b)
	f := c.Sealed[1]
	renamed := f
	renamed.Name = "other.ers"
	if err := w.svc.Cases.ReplaceSealed(w.ctx, c, map[int]casework.File{1: renamed}, "test", ""); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("renaming: %v", err)
	}
	stale := *c
	same := f
	if err := w.svc.Cases.ReplaceSealed(w.ctx, c, map[int]casework.File{1: same}, "test", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Cases.ReplaceSealed(w.ctx, &stale, map[int]casework.File{1: same}, "test", ""); !errors.Is(err, kerr.Conflict) {
		t.Fatalf("a stale read: %v", err)
	}
	open := w.registerWithFile(a, b, "not completed", "y")
	if err := w.svc.Cases.ReplaceSealed(w.ctx, open, map[int]casework.File{}, "test", ""); !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("a case not completed: %v", err)
	}
}
