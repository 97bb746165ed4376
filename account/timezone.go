package account

import (
	"context"
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// DefaultTimeZone is the time zone of a company that has not set one.
const DefaultTimeZone = "Asia/Tokyo"

// jst is Japan Standard Time. Japan has kept UTC+9 without daylight saving
// since 1951, so this fixed zone gives the same answers as the IANA
// database for every date a contract can carry; it stands in for
// Asia/Tokyo when the host has no zoneinfo (a minimal container), rather
// than embedding all of time/tzdata (~450 KB) in every embedder's binary.
var jst = time.FixedZone("JST", 9*60*60)

// LoadTimeZone returns the zone named by an IANA name (e.g. "Asia/Tokyo",
// "UTC"); the empty name means DefaultTimeZone. A name the host's zone
// database does not know is kerr.Invalid; Asia/Tokyo is always known.
func LoadTimeZone(name string) (*time.Location, error) {
	const op = "account.LoadTimeZone"
	if name == "" {
		name = DefaultTimeZone
	}
	loc, err := time.LoadLocation(name)
	switch {
	case err == nil && name != "Local":
		return loc, nil
	case name == "Asia/Tokyo":
		return jst, nil
	case name == "Local":
		return nil, kerr.E(kerr.Invalid, op, "time zone \"Local\" depends on the server; name the zone, e.g. Asia/Tokyo")
	}
	return nil, kerr.E(kerr.Invalid, op, "unknown time zone %q: use an IANA name such as Asia/Tokyo or UTC", name)
}

// CompanyTimeZone returns the zone of company id: its TimeZone setting,
// or DefaultTimeZone when it set none or the store does not know the
// company (e.g. a principal made by an embedder without account).
func CompanyTimeZone(ctx context.Context, store storage.AccountStore, id string) (*time.Location, error) {
	const op = "account.CompanyTimeZone"
	co, err := store.GetCompany(ctx, id)
	switch {
	case errors.Is(err, kerr.NotFound):
		return LoadTimeZone("")
	case err != nil:
		return nil, kerr.Wrap(op, err)
	}
	loc, err := LoadTimeZone(co.TimeZone)
	if err != nil {
		// The setting was checked when stored; a host that lost the zone
		// falls back rather than failing every search.
		return LoadTimeZone("")
	}
	return loc, nil
}

// SetTimeZone sets the time zone of p's company (an IANA name, e.g.
// "Asia/Tokyo"; empty restores DefaultTimeZone): the zone its completion
// times are shown, searched and exported in. Only its administrator may
// (else kerr.PermissionDenied); an unknown zone is kerr.Invalid.
func (s *Service) SetTimeZone(ctx context.Context, p Principal, name string) (*storage.Company, error) {
	const op = "account.SetTimeZone"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "log in first")
	}
	if !p.Admin {
		return nil, kerr.E(kerr.PermissionDenied, op, "only a company administrator may change the company's time zone")
	}
	if len(name) > 64 {
		return nil, kerr.E(kerr.Invalid, op, "time zone name is %d bytes long; IANA names are at most 64", len(name))
	}
	if _, err := LoadTimeZone(name); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	co, err := s.store.GetCompany(ctx, p.CompanyID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	co.TimeZone, co.UpdatedAt = name, s.now()
	if err := s.store.PutCompany(ctx, co, s.audit(p, "company.timezone", name)); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return co, nil
}
