package casework_test

import (
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

// TestRetentionStart counts the start of the 10 years at the boundaries
// of the completion date and of the fiscal year, in the company's zone.
func TestRetentionStart(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	fy := func(month, ext int) casework.RetentionSettings {
		return casework.RetentionSettings{FiscalYear: true, FiscalYearEndMonth: month, FilingExtensionMonths: ext}
	}
	d := func(y int, m time.Month, day int) civil.Date { return civil.Date{Year: y, Month: m, Day: day} }
	for _, tc := range []struct {
		name      string
		completed time.Time
		loc       *time.Location
		set       casework.RetentionSettings
		want      civil.Date
	}{
		{"completion date in JST, not UTC", time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC), jst, casework.RetentionSettings{}, d(2026, 4, 1)},
		{"completion date in UTC", time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC), time.UTC, casework.RetentionSettings{}, d(2026, 3, 31)},
		{"FY March +1: last day of the year", time.Date(2026, 3, 31, 23, 59, 0, 0, jst), jst, fy(3, 1), d(2026, 7, 1)},
		{"FY March +1: first day of the next", time.Date(2026, 4, 1, 0, 0, 0, 0, jst), jst, fy(3, 1), d(2027, 7, 1)},
		{"FY March +0", time.Date(2026, 3, 31, 12, 0, 0, 0, jst), jst, fy(3, 0), d(2026, 6, 1)},
		{"FY 0 means March", time.Date(2026, 5, 1, 12, 0, 0, 0, jst), jst, fy(0, 1), d(2027, 7, 1)},
		{"FY December +0: deadline in February", time.Date(2026, 12, 31, 23, 0, 0, 0, jst), jst, fy(12, 0), d(2027, 3, 1)},
		{"FY December +1 from January", time.Date(2027, 1, 1, 0, 0, 0, 0, jst), jst, fy(12, 1), d(2028, 4, 1)},
		{"FY September +4: into the next calendar year", time.Date(2026, 9, 30, 0, 0, 0, 0, jst), jst, fy(9, 4), d(2027, 4, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, rule := casework.RetentionStart(tc.completed, tc.loc, tc.set)
			if got != tc.want {
				t.Errorf("start = %s (%s), want %s", got, rule, tc.want)
			}
		})
	}
	// 29 February + 10 years is kept to 1 March, never less than 10 years.
	if got := casework.RetentionUntil(d(2028, 2, 29), casework.RetainDelete); got != d(2038, 3, 1) {
		t.Errorf("until of a 29 February start = %s, want 2038-03-01", got)
	}
	if got := casework.RetentionUntil(d(2026, 4, 1), casework.RetainExtend); got != d(2041, 4, 1) {
		t.Errorf("extended until = %s, want 2041-04-01", got)
	}
}

func TestCheckRetentionSettings(t *testing.T) {
	for _, set := range []casework.RetentionSettings{
		{DefaultAction: "forever"}, {FiscalYearEndMonth: 13}, {FiscalYearEndMonth: -1},
		{FilingExtensionMonths: casework.MaxFilingExtensionMonths + 1}, {FilingExtensionMonths: -1},
	} {
		if err := casework.CheckRetentionSettings(set); !errors.Is(err, kerr.Invalid) {
			t.Errorf("%+v: %v, want Invalid", set, err)
		}
	}
	if err := casework.CheckRetentionSettings(casework.RetentionSettings{DefaultAction: casework.RetainDelete, FiscalYear: true, FiscalYearEndMonth: 12, FilingExtensionMonths: 4}); err != nil {
		t.Error(err)
	}
}
