package account

import (
	"context"
	"strings"

	"github.com/keiyaku/keiyaku/kerr"
)

// ActionDenied is the audit action of a refusal decided outside the
// domain packages: a front end (httpapi, its portal) that turns away an
// authenticated caller for its role or its API token's scope.
const ActionDenied = "access.denied"

// MaxDenialReason bounds the reason AuditDenial writes, in bytes.
const MaxDenialReason = 512

// AuditDenial writes one ActionDenied audit entry for authenticated
// principal p (actor, company, p.RemoteAddr) refused operation what
// (e.g. "GET /companies/me/users") because of reason (e.g. "token scope
// read does not include admin"). Both are cut to MaxDenialReason bytes;
// neither may hold a secret (a token, a password). Only an authenticated
// caller is written one by one: it cannot grow the log faster than its
// own requests, and its account can be disabled. A p that is not Valid
// is kerr.Invalid; a store failure kerr.Unavailable.
func (s *Service) AuditDenial(ctx context.Context, p Principal, what, reason string) error {
	const op = "account.AuditDenial"
	if !p.Valid() {
		return kerr.E(kerr.Invalid, op, "a denial is audited for an authenticated principal only")
	}
	// A cut may split a character (a decoded portal path): drop its
	// bytes rather than write invalid UTF-8.
	detail := strings.ToValidUTF8(truncate(what, MaxDenialReason)+": "+truncate(reason, MaxDenialReason), "")
	if err := s.store.AppendAudit(ctx, s.audit(p, ActionDenied, detail)); err != nil {
		return kerr.Wrap(op, err)
	}
	return nil
}
