package casework

import (
	"context"
	"strings"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// VerifyHistory checks that the audit entries of case id match its stored
// version history (issue 11): every commit of the case writes exactly one
// entry "case.<event>" whose detail starts "<from> -> <to>", so the case
// at version N has N such entries, each starting in the state the one
// before ended in (the first in "new"), and the last ending in the case's
// stored state. A case row changed behind the service's back (a state, or
// a version, without its entry) fails. It returns an error of kind
// kerr.Internal wrapping storage.ErrChainBroken naming the first entry or
// version that does not hold, kerr.NotFound for an unknown case. It checks
// the entries as stored; whether they are genuine is the audit chain's
// check (storage.VerifyChain, archive.Service.VerifyAudit). Cases loaded
// with storage.BulkLoader have no per-case entries and are reported as
// such (kerr.FailedPrecondition).
//
// It is an operator's check and takes no Principal.
func (s *Service) VerifyHistory(ctx context.Context, id string) error {
	const op = "casework.VerifyHistory"
	c, err := s.store.GetCase(ctx, id)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	commits := map[string]bool{}
	for _, e := range Events() {
		commits["case."+e.String()] = true
	}
	state := StateNew.String()
	var n int64
	for after := int64(0); ; {
		page, err := s.store.ListAudit(ctx, after, id, 1000)
		if err != nil {
			return kerr.Wrap(op, err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			after = e.Seq
			if !commits[e.Action] {
				continue // downloads and other entries that change no version
			}
			n++
			from, rest, ok := strings.Cut(e.Detail, " -> ")
			to, _, _ := strings.Cut(rest, ";")
			if !ok || from != state || to == "" {
				return kerr.E(kerr.Internal, op, "case %s: audit entry %d (version %d) does not start in state %q, where version %d left the case: %w", id, e.Seq, n, state, n-1, storage.ErrChainBroken)
			}
			state = to
		}
	}
	switch {
	case n == 0 && c.Version == 1:
		return kerr.E(kerr.FailedPrecondition, op, "case %s has no audit entries of its own: it was bulk-loaded, or its registration entry is missing", id)
	case n != c.Version:
		return kerr.E(kerr.Internal, op, "case %s is at version %d but its audit log records %d commits: %w", id, c.Version, n, storage.ErrChainBroken)
	case state != c.State:
		return kerr.E(kerr.Internal, op, "case %s is stored in state %q but its audit log leaves it in %q: %w", id, c.State, state, storage.ErrChainBroken)
	}
	return nil
}
