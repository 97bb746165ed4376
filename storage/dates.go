package storage

import (
	"time"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/kerr"
)

// The supported range of every date and time a backend stores or filters
// on: stored times are Unix nanoseconds in 64 bits, which end in 2262, and
// a contract date before 1900 is a typing error. A time outside the range
// is refused as kerr.Invalid by CheckTime, never turned into "no date" or
// an internal error.
var (
	MinTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2199, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// CheckTime returns kerr.Invalid, under op, naming field, when t is not
// the zero time and lies outside MinTime..MaxTime. The zero time itself is
// the caller's to judge ("no date", or required). A time that is not zero
// but becomes zero in UTC (year 1 in a zone east of Greenwich) is out of
// range, not "no date".
func CheckTime(op, field string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return kerr.M(kerr.Invalid, op, "date.range", "{field} {date} is outside the supported range {min} to {max}: give a date in that range",
			kerr.P("field", field), kerr.P("date", t.Format(time.RFC3339)), kerr.P("min", MinTime.Format(time.DateOnly)), kerr.P("max", MaxTime.Format(time.DateOnly)))
	}
	return nil
}

// CheckDate returns kerr.Invalid, under op, naming field, when d is not
// the zero date and is not a calendar date or lies outside the years of
// MinTime..MaxTime. The zero date is the caller's to judge.
func CheckDate(op, field string, d civil.Date) error {
	if d.IsZero() {
		return nil
	}
	if !d.IsValid() {
		return kerr.M(kerr.Invalid, op, "date.invalid", "{field} {date} is not a calendar date: give a date that exists", kerr.P("field", field), kerr.P("date", d))
	}
	if d.Year < MinTime.Year() || d.Year > MaxTime.Year() {
		return kerr.M(kerr.Invalid, op, "date.range", "{field} {date} is outside the supported range {min} to {max}: give a date in that range",
			kerr.P("field", field), kerr.P("date", d), kerr.P("min", MinTime.Format(time.DateOnly)), kerr.P("max", MaxTime.Format(time.DateOnly)))
	}
	return nil
}
