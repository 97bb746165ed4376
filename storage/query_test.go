package storage_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func TestCursorRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		c    storage.Cursor
	}{
		{"int", storage.Cursor{Sort: storage.SortAmount, Int: -42, ID: "c1"}},
		{"text desc", storage.Cursor{Sort: storage.SortName, Desc: true, Text: "契約 \"x\"", ID: "c2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &storage.CaseQuery{Sort: tt.c.Sort, Desc: tt.c.Desc}
			got, err := storage.DecodeCursor(storage.EncodeCursor(tt.c), q)
			if err != nil || got != tt.c {
				t.Fatalf("round trip = %+v, %v", got, err)
			}
			q.Desc = !q.Desc
			if _, err := storage.DecodeCursor(storage.EncodeCursor(tt.c), q); !errors.Is(err, kerr.Invalid) {
				t.Errorf("cursor accepted for the other direction: %v", err)
			}
		})
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(storage.EncodeCursor(storage.Cursor{Sort: storage.SortUpdated, Int: 5, ID: "x"}))
	f.Add(storage.EncodeCursor(storage.Cursor{Sort: storage.SortName, Text: "a", ID: "y"}))
	f.Add("")
	f.Add("eyJ9")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		q := &storage.CaseQuery{Sort: storage.SortUpdated}
		c, err := storage.DecodeCursor(s, q)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		if c.ID == "" || c.Sort != q.Sort || c.Desc != q.Desc {
			t.Fatalf("accepted an unusable cursor %+v", c)
		}
	})
}

func TestQueryValidateDefaults(t *testing.T) {
	q := &storage.CaseQuery{}
	if err := q.Validate(); err != nil || q.Sort != storage.SortUpdated || q.Limit != storage.DefaultPageSize {
		t.Errorf("defaults = %q %d, %v", q.Sort, q.Limit, err)
	}
}

// TestCaseScopes: a case is in its registrant's and every party's company
// scope and personal scope, each once; a party without a user adds only
// its company.
func TestCaseScopes(t *testing.T) {
	c := &storage.Case{RegistrantCompanyID: "co1", RegistrantUserID: "u1", Parties: []storage.Party{
		{CompanyID: "co2", UserID: "u2"},
		{CompanyID: "co3"},
		{CompanyID: "co1", UserID: "u1b"},
		{CompanyID: "co2", UserID: "u2"},
	}}
	want := []storage.Scope{{CompanyID: "co1"}, {CompanyID: "co1", UserID: "u1"}, {CompanyID: "co2"}, {CompanyID: "co2", UserID: "u2"},
		{CompanyID: "co3"}, {CompanyID: "co1", UserID: "u1b"}}
	if got := c.Scopes(); !slices.Equal(got, want) {
		t.Errorf("Scopes() = %v\nwant %v", got, want)
	}
}
