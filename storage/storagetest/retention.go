package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// runRetention runs the RetentionStore suite (issue 12).
func runRetention(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("RetentionPolicy", func(t *testing.T) { testRetentionPolicy(t, open(t)) })
	t.Run("RetentionDuePaging", func(t *testing.T) { testRetentionDuePaging(t, open(t)) })
	t.Run("RetentionHolds", func(t *testing.T) { testRetentionHolds(t, open(t)) })
	t.Run("RetentionNoticeOnce", func(t *testing.T) { testRetentionNoticeOnce(t, open(t)) })
	t.Run("RetentionDeletion", func(t *testing.T) { testRetentionDeletion(t, open(t)) })
	t.Run("RetentionPins", func(t *testing.T) { testRetentionPins(t, open(t)) })
	t.Run("RetentionImport", func(t *testing.T) { testRetentionImport(t, open(t)) })
	t.Run("RetentionSharedConcurrent", func(t *testing.T) { testRetentionSharedConcurrent(t, open(t)) })
}

// testRetentionSharedConcurrent: two cases that share a blob begin their
// deletions at once; exactly one of them removes the shared key (neither
// leaves it behind, nor do both count on the other).
func testRetentionSharedConcurrent(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for round := range 5 {
		ids := []string{fmt.Sprintf("sc%d-a", round), fmt.Sprintf("sc%d-b", round)}
		shared := hex64(byte('0' + round))
		for _, id := range ids {
			c := sample(id)
			c.Document.Key, c.Supplements = shared, nil
			commit(t, s, c)
			putRetention(t, s, retentionOf(id, civil.Date{Year: 2026, Month: 4, Day: 2}))
		}
		later := base.Add(48 * time.Hour)
		recs := []*storage.DeletionRecord{deletionRecord(ids[0], later), deletionRecord(ids[1], later)}
		var wg sync.WaitGroup
		for i := range recs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.BeginDeletion(ctx, recs[i], later.Add(-storage.PinTTL), audit("case.retention.delete", ids[i])); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		n := 0
		for _, r := range recs {
			if slices.Contains(r.Removing, shared) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("round %d: the shared key is removed by %d of the two deletions, want exactly 1", round, n)
		}
	}
}

func testRetentionImport(t *testing.T, s storage.Store) {
	l, ok := s.(storage.RetentionLoader)
	if !ok {
		t.Skip("the store has no RetentionLoader")
	}
	ctx := context.Background()
	commit(t, s, sample("i1"))
	commit(t, s, sample("i2"))
	until := civil.Date{Year: 2036, Month: 4, Day: 1}
	if err := l.ImportRetentions(ctx, []*storage.Retention{retentionOf("i1", until), retentionOf("nope", until)}, audit("case.import", "")); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("importing the retention of a missing case: %v, want FailedPrecondition", err)
	}
	if _, err := s.GetRetention(ctx, "i1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("a failed import wrote i1: %v", err)
	}
	if err := l.ImportRetentions(ctx, nil, audit("case.import", "")); !errors.Is(err, kerr.Invalid) {
		t.Errorf("an empty import: %v, want Invalid", err)
	}
	if err := l.ImportRetentions(ctx, []*storage.Retention{retentionOf("i1", until), retentionOf("i2", until)}, audit("case.import", "")); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueRetentions(ctx, until, storage.RetentionCursor{}, 10)
	if err != nil || len(due) != 2 {
		t.Errorf("due after the import: %d, %v; want 2", len(due), err)
	}
}

func retentionOf(id string, until civil.Date) *storage.Retention {
	return &storage.Retention{
		CaseID: id, CompanyID: "co1", OwnerUserID: "u1", CompletedAt: base,
		Start: civil.Date{Year: 2026, Month: 4, Day: 1}, Until: until, Action: storage.RetainDelete, Rule: "completion",
		SetBy: "u1", SetAt: base,
	}
}

func putRetention(t *testing.T, s storage.Store, r *storage.Retention) {
	t.Helper()
	if err := s.PutRetention(context.Background(), r, audit("case.retention", r.CaseID)); err != nil {
		t.Fatalf("PutRetention %s: %v", r.CaseID, err)
	}
}

func testRetentionPolicy(t *testing.T, s storage.Store) {
	ctx := context.Background()
	until := civil.Date{Year: 2036, Month: 4, Day: 1}
	if err := s.PutRetention(ctx, retentionOf("missing", until), audit("case.retention", "missing")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("PutRetention of a missing case: %v, want NotFound", err)
	}
	if _, err := s.GetRetention(ctx, "missing"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetRetention of a missing case: %v, want NotFound", err)
	}
	commit(t, s, sample("r1"))
	bad := retentionOf("r1", until)
	bad.Action = "keep forever"
	if err := s.PutRetention(ctx, bad, audit("case.retention", "r1")); !errors.Is(err, kerr.Invalid) {
		t.Errorf("PutRetention with action %q: %v, want Invalid", bad.Action, err)
	}
	if err := s.PutRetention(ctx, retentionOf("r1", until), nil); !errors.Is(err, kerr.Invalid) {
		t.Errorf("PutRetention without audit: %v, want Invalid", err)
	}
	want := retentionOf("r1", until)
	putRetention(t, s, want)
	got, err := s.GetRetention(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Until != until || got.Action != storage.RetainDelete || got.CompanyID != "co1" || !got.CompletedAt.Equal(base) || got.Deleting {
		t.Errorf("GetRetention = %+v, want %+v", got, want)
	}
	// A commit carries the retention a completion starts, atomically.
	c := sample("r2")
	wrong := retentionOf("r1", until)
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: audit("case.complete", "r2"), Retention: wrong}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("a commit whose retention names another case: %v, want Invalid", err)
	}
	if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: audit("case.complete", "r2"), Retention: retentionOf("r2", until)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetRetention(ctx, "r2"); err != nil || got.Until != until {
		t.Errorf("retention written by CommitCase: %+v, %v", got, err)
	}
	want.Action, want.Until = storage.RetainExtend, civil.Date{Year: 2041, Month: 4, Day: 1}
	putRetention(t, s, want)
	if got, _ := s.GetRetention(ctx, "r1"); got == nil || got.Until != want.Until || got.Action != storage.RetainExtend {
		t.Errorf("after replacing: %+v, want until %s extend", got, want.Until)
	}
}

func testRetentionDuePaging(t *testing.T, s storage.Store) {
	ctx := context.Background()
	// 7 cases: 5 due on two dates, one later, one held.
	dates := []civil.Date{{Year: 2036, Month: 4, Day: 1}, {Year: 2036, Month: 4, Day: 1}, {Year: 2036, Month: 3, Day: 31},
		{Year: 2036, Month: 4, Day: 1}, {Year: 2036, Month: 3, Day: 31}, {Year: 2036, Month: 4, Day: 2}, {Year: 2036, Month: 1, Day: 1}}
	for i, d := range dates {
		id := string(rune('a'+i)) + "-due"
		commit(t, s, sample(id))
		r := retentionOf(id, d)
		if i == 6 {
			r.CompanyID = "co9"
		}
		putRetention(t, s, r)
	}
	if err := s.PutHold(ctx, &storage.Hold{CaseID: "g-due", CompanyID: "co9", UserID: "u9", Reason: "litigation", At: base}, audit("case.hold", "g-due")); err != nil {
		t.Fatal(err)
	}
	through := civil.Date{Year: 2036, Month: 4, Day: 1}
	var got []string
	var cur storage.RetentionCursor
	for range 10 {
		page, err := s.DueRetentions(ctx, through, cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			got = append(got, r.CaseID)
		}
		last := page[len(page)-1]
		cur = storage.RetentionCursor{Until: last.Until, CaseID: last.CaseID}
	}
	want := []string{"c-due", "e-due", "a-due", "b-due", "d-due"}
	if !slices.Equal(got, want) {
		t.Errorf("due pages = %v, want %v (by date then ID; not the later one, not the held one)", got, want)
	}
	for _, limit := range []int{0, -1, storage.MaxRetentionPage + 1} {
		if _, err := s.DueRetentions(ctx, through, storage.RetentionCursor{}, limit); !errors.Is(err, kerr.Invalid) {
			t.Errorf("DueRetentions limit %d: %v, want Invalid", limit, err)
		}
	}
	up, err := s.UpcomingDeletions(ctx, "co1", civil.Date{Year: 2036, Month: 12, Day: 31}, storage.RetentionCursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range up {
		ids = append(ids, r.CaseID)
	}
	if want := []string{"c-due", "e-due", "a-due", "b-due", "d-due", "f-due"}; !slices.Equal(ids, want) {
		t.Errorf("UpcomingDeletions(co1) = %v, want %v", ids, want)
	}
	if up, _ := s.UpcomingDeletions(ctx, "co9", civil.Date{Year: 2036, Month: 12, Day: 31}, storage.RetentionCursor{}, 100); len(up) != 0 {
		t.Errorf("UpcomingDeletions(co9) lists a held case: %v", up)
	}
}

func testRetentionHolds(t *testing.T, s storage.Store) {
	ctx := context.Background()
	commit(t, s, sample("h1"))
	putRetention(t, s, retentionOf("h1", civil.Date{Year: 2030, Month: 1, Day: 1}))
	if err := s.PutHold(ctx, &storage.Hold{CaseID: "nope", CompanyID: "co1"}, audit("case.hold", "nope")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("hold on a missing case: %v, want NotFound", err)
	}
	long := make([]byte, storage.MaxHoldReason+1)
	for i := range long {
		long[i] = 'x'
	}
	if err := s.PutHold(ctx, &storage.Hold{CaseID: "h1", CompanyID: "co1", Reason: string(long)}, audit("case.hold", "h1")); !errors.Is(err, kerr.Invalid) {
		t.Errorf("hold with a reason over the limit: %v, want Invalid", err)
	}
	for _, co := range []string{"co2", "co1"} {
		if err := s.PutHold(ctx, &storage.Hold{CaseID: "h1", CompanyID: co, UserID: "admin-" + co, Reason: "audit by " + co, At: base}, audit("case.hold", "h1")); err != nil {
			t.Fatal(err)
		}
	}
	holds, err := s.ListHolds(ctx, "h1")
	if err != nil || len(holds) != 2 || holds[0].CompanyID != "co1" || holds[1].Reason != "audit by co2" {
		t.Fatalf("ListHolds = %+v, %v; want co1 then co2", holds, err)
	}
	through := civil.Date{Year: 2040, Month: 1, Day: 1}
	if due, _ := s.DueRetentions(ctx, through, storage.RetentionCursor{}, 10); len(due) != 0 {
		t.Errorf("a held case is due: %v", due)
	}
	if err := s.DeleteHold(ctx, "h1", "co3", audit("case.unhold", "h1")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("lifting a hold never placed: %v, want NotFound", err)
	}
	if err := s.DeleteHold(ctx, "h1", "co1", audit("case.unhold", "h1")); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueRetentions(ctx, through, storage.RetentionCursor{}, 10); len(due) != 0 {
		t.Errorf("the case is due while co2's hold is still on: %v", due)
	}
	if err := s.DeleteHold(ctx, "h1", "co2", audit("case.unhold", "h1")); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueRetentions(ctx, through, storage.RetentionCursor{}, 10); len(due) != 1 {
		t.Errorf("after both holds were lifted, due = %v, want h1", due)
	}
}

func testRetentionNoticeOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	commit(t, s, sample("n1"))
	putRetention(t, s, retentionOf("n1", civil.Date{Year: 2030, Month: 1, Day: 1}))
	ev := func(id string) []storage.Event {
		return []storage.Event{{ID: id, Type: "retention_deletion", CaseID: "n1", Recipients: []string{"u1"}, Language: "ja", CreatedAt: base, NextAttemptAt: base}}
	}
	if _, err := s.MarkNoticed(ctx, "none", base, ev("x"), audit("case.retention.notice", "none")); !errors.Is(err, kerr.NotFound) {
		t.Errorf("MarkNoticed of a case without retention: %v, want NotFound", err)
	}
	// Concurrent sweeps: exactly one writes.
	results := make(chan bool, 4)
	for i := range 4 {
		go func() {
			wrote, err := s.MarkNoticed(ctx, "n1", base.Add(time.Duration(i)), ev("notice-"+string(rune('a'+i))), audit("case.retention.notice", "n1"))
			if err != nil {
				t.Error(err)
			}
			results <- wrote
		}()
	}
	n := 0
	for range 4 {
		if <-results {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d of 4 concurrent MarkNoticed wrote, want exactly 1", n)
	}
	due, err := s.DueEvents(ctx, base.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Type != "retention_deletion" {
		t.Errorf("outbox holds %d events, want the one notice", len(due))
	}
	if r, _ := s.GetRetention(ctx, "n1"); r == nil || r.NoticeAt.IsZero() {
		t.Errorf("NoticeAt not set: %+v", r)
	}
}

func deletionRecord(id string, at time.Time) *storage.DeletionRecord {
	rec := &storage.DeletionRecord{CaseID: id, CompanyIDs: []string{"co1", "co2"}, CompletedAt: base, DeletedAt: at,
		Objects: []storage.RemovedObject{{Name: "contract.pdf", SHA256: hex64('a'), Size: 1234}}, Action: storage.RetainDelete, SetBy: "u1", SetAt: base,
		Start: civil.Date{Year: 2016, Month: 4, Day: 1}, Until: civil.Date{Year: 2026, Month: 4, Day: 1}}
	rec.Digest = rec.Sum()
	rec.Token = []byte{0x30, 0x03, 0x02, 0x01, 0x01} // the store keeps it; casework verifies it
	return rec
}

func testRetentionDeletion(t *testing.T, s storage.Store) {
	ctx := context.Background()
	// d1 and d2 share blob 'a' (their document); d1 alone has 'b' and
	// 'c' (an earlier document version), d2 alone has 'd'.
	d1 := sample("d1")
	commit(t, s, d1)
	d1.Document.Key = hex64('c')
	d1.State = "returned"
	commit(t, s, d1)
	d2 := sample("d2")
	d2.Document.Key = hex64('a')
	d2.Supplements = []storage.File{{Name: "other.txt", Key: hex64('d'), Size: 5}}
	commit(t, s, d2)
	keys, err := s.CaseBlobs(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{hex64('a'), hex64('b'), hex64('c')}; !slices.Equal(keys, want) {
		t.Errorf("CaseBlobs(d1) = %v, want every key it ever named %v", keys, want)
	}
	later := base.Add(48 * time.Hour)
	rec := deletionRecord("d1", later)
	if err := s.BeginDeletion(ctx, rec, later.Add(-storage.PinTTL), audit("case.retention.delete", "d1")); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("BeginDeletion without retention: %v, want FailedPrecondition", err)
	}
	putRetention(t, s, retentionOf("d1", civil.Date{Year: 2026, Month: 4, Day: 2}))
	if err := s.PutHold(ctx, &storage.Hold{CaseID: "d1", CompanyID: "co1", Reason: "x", At: base}, audit("case.hold", "d1")); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginDeletion(ctx, rec, later.Add(-storage.PinTTL), audit("case.retention.delete", "d1")); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("BeginDeletion of a held case: %v, want FailedPrecondition", err)
	}
	if err := s.DeleteHold(ctx, "d1", "co1", audit("case.unhold", "d1")); err != nil {
		t.Fatal(err)
	}
	bad := deletionRecord("d1", later)
	bad.Digest = []byte("not the digest")
	if err := s.BeginDeletion(ctx, bad, later.Add(-storage.PinTTL), audit("case.retention.delete", "d1")); !errors.Is(err, kerr.Invalid) {
		t.Errorf("BeginDeletion with a wrong digest: %v, want Invalid", err)
	}
	if err := s.FinishDeletion(ctx, "d1"); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("FinishDeletion before BeginDeletion: %v, want FailedPrecondition", err)
	}
	ae := audit("case.retention.delete", "d1")
	if err := s.BeginDeletion(ctx, rec, later.Add(-storage.PinTTL), ae); err != nil {
		t.Fatal(err)
	}
	if ae[0].Seq == 0 {
		t.Error("BeginDeletion did not seal its audit entry")
	}
	if want := []string{hex64('b'), hex64('c')}; !slices.Equal(rec.Removing, want) {
		t.Errorf("Removing = %v, want %v (the shared key stays)", rec.Removing, want)
	}
	if err := s.BeginDeletion(ctx, rec, later.Add(-storage.PinTTL), audit("case.retention.delete", "d1")); !errors.Is(err, kerr.Conflict) {
		t.Errorf("BeginDeletion twice: %v, want Conflict", err)
	}
	if err := s.PutHold(ctx, &storage.Hold{CaseID: "d1", CompanyID: "co1", Reason: "late", At: later}, audit("case.hold", "d1")); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("a hold on a case being deleted: %v, want FailedPrecondition", err)
	}
	if err := s.PinBlob(ctx, hex64('b'), later); !errors.Is(err, kerr.Unavailable) {
		t.Errorf("pinning a key being removed: %v, want Unavailable", err)
	}
	if err := s.PinBlob(ctx, hex64('a'), later); err != nil {
		t.Errorf("pinning the shared key: %v", err)
	}
	dl, err := s.DeletingRetentions(ctx, 10)
	if err != nil || len(dl) != 1 || dl[0].CaseID != "d1" || !dl[0].Deleting {
		t.Errorf("DeletingRetentions = %+v, %v; want d1", dl, err)
	}
	for range 2 { // idempotent
		if err := s.FinishDeletion(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetCase(ctx, "d1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetCase after deletion: %v, want NotFound", err)
	}
	if _, err := s.GetRetention(ctx, "d1"); !errors.Is(err, kerr.NotFound) {
		t.Errorf("GetRetention after deletion: %v, want NotFound", err)
	}
	if keys, _ := s.CaseBlobs(ctx, "d1"); len(keys) != 0 {
		t.Errorf("CaseBlobs after deletion: %v", keys)
	}
	if err := s.PinBlob(ctx, hex64('b'), later); err != nil {
		t.Errorf("pinning a removed key after the deletion finished: %v", err)
	}
	got, err := s.GetDeletionRecord(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Finished || string(got.Digest) != string(got.Sum()) || string(got.Token) != string(rec.Token) || !got.DeletedAt.Equal(later) || len(got.Objects) != 1 {
		t.Errorf("deletion record = %+v", got)
	}
	if c, err := s.GetCase(ctx, "d2"); err != nil || c.Document.Key != hex64('a') {
		t.Errorf("the other case: %v, %v", c, err)
	}
	page, err := s.ListAudit(ctx, 0, "d1", 1000)
	if err != nil || len(page) == 0 || page[len(page)-1].Action != "case.retention.delete" {
		t.Errorf("the audit entries of d1 stay: %d, %v", len(page), err)
	}
	if _, err := storage.VerifyChain(ctx, s); err != nil {
		t.Errorf("audit chain after deletion: %v", err)
	}
}

// testRetentionPins: a key pinned within PinTTL before the deletion
// begins is kept even when no other case names it yet (a writer is about
// to).
func testRetentionPins(t *testing.T, s storage.Store) {
	ctx := context.Background()
	c := sample("p1")
	c.Supplements = nil
	commit(t, s, c)
	putRetention(t, s, retentionOf("p1", civil.Date{Year: 2026, Month: 4, Day: 2}))
	if err := s.PinBlob(ctx, "not a key", base); !errors.Is(err, kerr.Invalid) {
		t.Errorf("PinBlob of a malformed key: %v, want Invalid", err)
	}
	now := base.Add(72 * time.Hour)
	if err := s.PinBlob(ctx, hex64('a'), now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	rec := deletionRecord("p1", now)
	if err := s.BeginDeletion(ctx, rec, now.Add(-storage.PinTTL), audit("case.retention.delete", "p1")); err != nil {
		t.Fatal(err)
	}
	if len(rec.Removing) != 0 {
		t.Errorf("Removing = %v: a freshly pinned key must stay", rec.Removing)
	}
	if err := s.PinBlob(ctx, hex64('a'), now); err != nil {
		t.Errorf("the kept key cannot be pinned: %v", err)
	}
}
