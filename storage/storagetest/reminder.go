package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// testReminders: OpenCases pages the cases of the given states in
// (UpdatedAt, ID) order; RecordReminder writes a key once, with its
// events and audit, and nothing the second time.
func testReminders(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, spec := range []struct {
		id, state string
		at        time.Duration
	}{{"r1", "sent", 2 * time.Hour}, {"r2", "completed", time.Hour}, {"r3", "returned", time.Hour}, {"r4", "sent", time.Hour}, {"r5", "deleted", 0}} {
		c := sample(spec.id)
		c.State, c.UpdatedAt = spec.state, base.Add(spec.at)
		commit(t, s, c)
	}
	var got []string
	var cur storage.ReminderCursor
	for {
		page, err := s.OpenCases(ctx, []string{"sent", "returned"}, cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			got = append(got, c.ID)
			if c.Version != 1 || c.Name == "" {
				t.Errorf("open case %s read as %+v", c.ID, c)
			}
		}
		last := page[len(page)-1]
		cur = storage.ReminderCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
	if want := []string{"r3", "r4", "r1"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("open cases = %v, want %v", got, want)
	}
	if _, err := s.OpenCases(ctx, nil, storage.ReminderCursor{}, 10); !errors.Is(err, kerr.Invalid) {
		t.Errorf("no states = %v, want kerr.Invalid", err)
	}

	before := auditCount(t, s)
	ev := storage.Event{ID: "rem-1", Type: "reminder", CaseID: "r1", Recipients: []string{"u2"}, CreatedAt: base}
	ok, err := s.RecordReminder(ctx, "r1", "wait:1:1", base, []storage.Event{ev}, audit("case.reminder", "r1"))
	if err != nil || !ok {
		t.Fatalf("first RecordReminder = %v, %v; want recorded", ok, err)
	}
	ev2 := ev
	ev2.ID = "rem-2"
	ok, err = s.RecordReminder(ctx, "r1", "wait:1:1", base, []storage.Event{ev2}, audit("case.reminder", "r1"))
	if err != nil || ok {
		t.Errorf("same key again = %v, %v; want not recorded", ok, err)
	}
	if n := auditCount(t, s) - before; n != 1 {
		t.Errorf("audit entries = %d, want 1", n)
	}
	due, err := s.DueEvents(ctx, base.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].ID != "rem-1" {
		t.Errorf("outbox = %+v, %v; want only rem-1", due, err)
	}
	if ok, err := s.RecordReminder(ctx, "nope", "k", base, nil, audit("case.reminder", "nope")); ok || !errors.Is(err, kerr.NotFound) {
		t.Errorf("missing case = %v, %v; want kerr.NotFound", ok, err)
	}
	if _, err := s.RecordReminder(ctx, "r1", "", base, nil, audit("case.reminder", "r1")); !errors.Is(err, kerr.Invalid) {
		t.Errorf("empty key = %v, want kerr.Invalid", err)
	}
}
