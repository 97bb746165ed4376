package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// FuzzSearchText feeds arbitrary text to the substring filters, which the
// backend turns into SQL parameters. Whatever the input, SearchCases must
// not fail with anything but kerr.Invalid (and that only for input
// PostgreSQL text cannot hold, or too long), and the cases it returns must
// be exactly those a byte-wise substring match in Go selects: no LIKE
// wildcards, no case folding, no collation effects.
func FuzzSearchText(f *testing.F) {
	s := openFresh(f)
	ctx := context.Background()
	fixture := map[string][2]string{ // id: name, order number
		"f1": {"業務委託契約", "PO-100"},
		"f2": {"100% 保守_契約", "po-100"},
		"f3": {`a\b LIKE %_ 'x'`, "Ω-1"},
		"f4": {"ｱｲｳ 半角 🚀", "ß"},
		"f5": {"ABC abc", ""},
	}
	var all []string
	for id, v := range fixture {
		c := newCase(id)
		c.Name, c.OrderNumber = v[0], v[1]
		c.Parties[0].CompanyName = "取引先 " + v[0]
		if err := s.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: entry("case.register", id)}); err != nil {
			f.Fatal(err)
		}
		all = append(all, id)
	}
	slices.Sort(all)
	for _, seed := range []string{"", "契約", "%", "_", `\`, "'", "abc", "ABC", "PO", "po-1", "ss", "ß", "ｱ", "🚀", "\x00", "\xff", "co2", "取引先 1", strings.Repeat("x", 201)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		want := func(match func(name, order string) bool) []string {
			var out []string
			for _, id := range all {
				if text == "" || match(fixture[id][0], fixture[id][1]) {
					out = append(out, id)
				}
			}
			return out
		}
		valid := utf8.ValidString(text) && !strings.ContainsRune(text, 0) && len(text) <= storage.MaxFilterText
		for _, tc := range []struct {
			name  string
			q     storage.CaseQuery
			match func(name, order string) bool
		}{
			{"name", storage.CaseQuery{NameContains: text}, func(n, _ string) bool { return strings.Contains(n, text) }},
			{"order", storage.CaseQuery{OrderNumber: text}, func(_, o string) bool { return strings.Contains(o, text) }},
			{"counterparty", storage.CaseQuery{Counterparty: text}, func(n, _ string) bool { return text == "co2" || strings.Contains("取引先 "+n, text) }},
		} {
			tc.q.Sort = storage.SortName
			tc.q.Limit = storage.MaxPageSize
			page, err := s.SearchCases(ctx, &tc.q)
			if !valid {
				if !errors.Is(err, kerr.Invalid) {
					t.Errorf("%s %q: err = %v, want Invalid", tc.name, text, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %q: %v", tc.name, text, err)
			}
			var got []string
			for _, c := range page.Cases {
				got = append(got, c.ID)
			}
			slices.Sort(got)
			if w := want(tc.match); !slices.Equal(got, w) {
				t.Errorf("%s %q: got %v, want %v", tc.name, text, got, w)
			}
		}
	})
}
