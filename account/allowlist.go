package account

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// MaxAllowListEntries bounds a user's IP allow-list (issue 12, IP
// restriction 二要素認証).
const MaxAllowListEntries = 20

// maxAllowEntryInput bounds what ParseAllowList reads of one entry; the
// longest canonical IPv6 prefix is 43 bytes.
const maxAllowEntryInput = 64

// ErrAddressNotAllowed is the cause of kerr.PermissionDenied when a user
// with an IP allow-list logs in or authenticates (session or API token)
// from an address outside it, or from an address that is empty or cannot
// be read. It is its own sentinel, not a kerr kind (the kinds are a closed
// set), so that a portal can say "this address is not allowed" with
// errors.Is(err, ErrAddressNotAllowed).
var ErrAddressNotAllowed = errors.New("this network address is not allowed for this user; ask the company administrator to add it to the user's IP allow-list")

// ParseAllowList parses an IP allow-list: each entry an IPv4 or IPv6 CIDR
// prefix ("192.0.2.0/24", "2001:db8::/48") or a single address (taken as
// /32 or /128), surrounded by optional spaces. Host bits below the prefix
// length are cleared ("192.0.2.9/24" is 192.0.2.0/24); duplicates are
// dropped; order is kept. An empty list is valid and means "no
// restriction".
//
// Refused with kerr.Invalid: more than MaxAllowListEntries entries, an
// empty or unparsable entry, an entry with a zone ("fe80::1%eth0"), and an
// IPv4-mapped IPv6 entry ("::ffff:192.0.2.1": write the IPv4 form, which
// also matches callers seen through an IPv6 socket).
func ParseAllowList(entries []string) ([]netip.Prefix, error) {
	const op = "account.ParseAllowList"
	if len(entries) > MaxAllowListEntries {
		return nil, kerr.E(kerr.Invalid, op, "an IP allow-list holds at most %d entries, not %d", MaxAllowListEntries, len(entries))
	}
	out := make([]netip.Prefix, 0, len(entries))
	for i, raw := range entries {
		if len(raw) > maxAllowEntryInput {
			return nil, kerr.E(kerr.Invalid, op, "allow-list entry %d is longer than %d bytes; give an address or a CIDR prefix such as 192.0.2.0/24", i+1, maxAllowEntryInput)
		}
		e := strings.TrimSpace(raw)
		var p netip.Prefix
		var err error
		if strings.Contains(e, "/") {
			p, err = netip.ParsePrefix(e)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(e); err == nil {
				if a.Zone() != "" {
					return nil, kerr.E(kerr.Invalid, op, "allow-list entry %q has a zone; give the address without %%zone", e)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || !p.IsValid() {
			return nil, kerr.E(kerr.Invalid, op, "allow-list entry %q is neither an IP address nor a CIDR prefix such as 192.0.2.0/24 or 2001:db8::/32", e)
		}
		if p.Addr().Is4In6() {
			return nil, kerr.E(kerr.Invalid, op, "allow-list entry %q is an IPv4-mapped IPv6 address; write it in IPv4 form", e)
		}
		p = p.Masked()
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// parseRemoteAddr reads the address a caller passed as remoteAddr: an IP
// address, or host:port as net/http's Request.RemoteAddr gives it. A zone
// is dropped and an IPv4-mapped IPv6 address becomes IPv4 (a dual-stack
// socket reports IPv4 callers so).
func parseRemoteAddr(remoteAddr string) (netip.Addr, bool) {
	s := strings.TrimSpace(remoteAddr)
	if s == "" || len(s) > 128 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		if err2 != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

// allowed reports whether remoteAddr lies in list; an empty list allows
// every address, even an empty one.
func allowed(list []netip.Prefix, remoteAddr string) bool {
	if len(list) == 0 {
		return true
	}
	a, ok := parseRemoteAddr(remoteAddr)
	if !ok {
		return false
	}
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Service) userAccess(op string) (storage.UserAccessStore, error) {
	us, ok := s.store.(storage.UserAccessStore)
	if !ok {
		return nil, kerr.E(kerr.FailedPrecondition, op, "the store %T keeps no allow-lists or last logins", s.store)
	}
	return us, nil
}

// storedAllowList reads and parses user u's list. A store without the
// ability has no lists.
func (s *Service) storedAllowList(ctx context.Context, op, userID string) ([]netip.Prefix, error) {
	us, ok := s.store.(storage.UserAccessStore)
	if !ok {
		return nil, nil
	}
	a, err := us.GetUserAccess(ctx, userID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if len(a.AllowList) == 0 {
		return nil, nil
	}
	list, err := ParseAllowList(a.AllowList)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "stored allow-list of user "+userID, err)
	}
	return list, nil
}

// checkAddress refuses u's call from remoteAddr when u has an allow-list
// that remoteAddr is not in, auditing the refusal (user, address, time).
// The refusals are bounded by what it takes to reach here: a right
// password, a live session or a valid API token of the user. Stored
// errors refuse too (fail closed).
func (s *Service) checkAddress(ctx context.Context, op string, u *storage.User, remoteAddr, how string) error {
	list, err := s.storedAllowList(ctx, op, u.ID)
	if err != nil {
		return err
	}
	if allowed(list, remoteAddr) {
		return nil
	}
	actor := Principal{UserID: u.ID, CompanyID: u.CompanyID, RemoteAddr: truncate(remoteAddr, 128)}
	// The refusal stands whether or not its audit entry could be written.
	_ = s.store.AppendAudit(ctx, s.audit(actor, "account.address-refused", how+" from an address outside the user's allow-list"))
	return kerr.MW(kerr.PermissionDenied, op, "account.addressrefused", "your network address {addr} is not on your IP allow-list: ask your company administrator to add it", ErrAddressNotAllowed,
		kerr.P("addr", actor.RemoteAddr))
}

// SetAllowList replaces the IP allow-list of user userID with entries
// (see ParseAllowList; empty deletes the list, lifting the restriction)
// and returns the list as stored. It takes effect at the user's next
// Login, Authenticate or AuthenticateToken; sessions are kept.
//
// Only an active administrator of the user's company may (else
// kerr.PermissionDenied; a user of another company is kerr.NotFound; a
// disabled or deleted administrator is kerr.Unauthenticated). An
// administrator setting its own list must stay inside it: a list that
// leaves out admin.RemoteAddr is kerr.FailedPrecondition. Audited as
// "account.allowlist-set" or "account.allowlist-delete" with the list.
func (s *Service) SetAllowList(ctx context.Context, admin Principal, userID string, entries []string) ([]netip.Prefix, error) {
	const op = "account.SetAllowList"
	u, err := s.manage(ctx, op, admin, userID)
	if err != nil {
		return nil, err
	}
	us, err := s.userAccess(op)
	if err != nil {
		return nil, err
	}
	list, err := ParseAllowList(entries)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if u.ID == admin.UserID && admin.RemoteAddr != "" && !allowed(list, admin.RemoteAddr) {
		return nil, kerr.M(kerr.FailedPrecondition, op, "allowlist.lockout", "the new list leaves out your own address {addr}, which would lock you out: include it", kerr.P("addr", admin.RemoteAddr))
	}
	stored := make([]string, len(list))
	for i, p := range list {
		stored[i] = p.String()
	}
	action := "account.allowlist-set"
	if len(list) == 0 {
		action = "account.allowlist-delete"
	}
	if err := us.PutAllowList(ctx, u.ID, stored, s.audit(admin, action, "user "+u.ID+": "+strings.Join(stored, " "))); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return list, nil
}
