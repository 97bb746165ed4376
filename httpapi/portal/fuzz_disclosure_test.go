package portal_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/kerr"
)

// FuzzParsePeriodForm: any pair of date fields is a period whose end is
// the midnight after the last day, or kerr.Invalid; never a panic.
func FuzzParsePeriodForm(f *testing.F) {
	f.Add("", "2026-12-31")
	f.Add("2026-01-01", "2026-02-30")
	f.Add("x", "2026-12-31")
	f.Add(" 2026-01-01 ", "99999-01-01")
	f.Fuzz(func(t *testing.T, from, until string) {
		a, b, err := portal.ParsePeriodForm(from, until)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("error of kind %v: %v", kerr.Of(err), err)
			}
			return
		}
		if b.IsZero() || b.Hour() != 0 || b.Minute() != 0 {
			t.Fatalf("until %v is not a midnight", b)
		}
		if !a.IsZero() && a.Format(time.TimeOnly) != "00:00:00" {
			t.Fatalf("from %v is not a midnight", a)
		}
	})
}
