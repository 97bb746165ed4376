package casework

import (
	"context"
	"fmt"
	"strings"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// EachCompleted calls fn with every completed case of every company, in
// pages of at most storage.MaxPageSize, for the archive's long-term work
// (evidence renewal); it is not for principals, who use Search. It stops
// at fn's first error and returns it; other errors are the store's.
func (s *Service) EachCompleted(ctx context.Context, fn func(*Case) error) error {
	const op = "casework.EachCompleted"
	q := &storage.CaseQuery{States: []string{StateCompleted.String()}, Sort: storage.SortCompleted, Limit: storage.MaxPageSize}
	for {
		page, err := s.store.SearchCases(ctx, q)
		if err != nil {
			return kerr.Wrap(op, err)
		}
		for _, rec := range page.Cases {
			c, err := fromRecord(rec)
			if err != nil {
				return kerr.Wrap(op, err)
			}
			if err := fn(c); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// ReplaceSealed replaces sealed files of completed case c (as read, at
// c.Version) with renewed ones: replaced maps the index in c.Sealed to its
// new File, which must keep the name and content type, or turn an RFC 3161
// token "X.tst" into the evidence record "X.ers" converted from it
// (renewal adds evidence to a file, it never removes any: the caller
// guarantees the new bytes hold everything the old ones proved). The case row and an audit
// entry "case.evidence_renewed" by actor (the job or operator doing it)
// commit together; the old blobs stay. Errors: kerr.FailedPrecondition for
// a case that is not completed, kerr.Invalid for a replacement that does
// not fit, kerr.Conflict when the case changed since it was read.
func (s *Service) ReplaceSealed(ctx context.Context, c *Case, replaced map[int]File, actor, detail string) error {
	const op = "casework.ReplaceSealed"
	if c.State != StateCompleted {
		return kerr.E(kerr.FailedPrecondition, op, "case %q is %s; only completed cases have sealed files", c.ID, c.State)
	}
	var names []string
	for i, f := range replaced {
		if i < 0 || i >= len(c.Sealed) || f.Key == "" || !fitsSealed(c.Sealed[i], f) {
			return kerr.E(kerr.Invalid, op, "replacement %d does not fit case %q's sealed files", i, c.ID)
		}
		names = append(names, f.Name)
	}
	if len(replaced) == 0 {
		return nil
	}
	n := *c
	n.Sealed = append([]File(nil), c.Sealed...)
	for i, f := range replaced {
		n.Sealed[i] = f
	}
	n.UpdatedAt = s.now()
	rec := toRecord(&n)
	d := fmt.Sprintf("renewed %s", strings.Join(names, ", "))
	if detail != "" {
		d += "; " + detail
	}
	audit := storage.AuditEntry{Time: n.UpdatedAt, ActorUserID: actor, Action: "case.evidence_renewed", CaseID: c.ID, Detail: d}
	if err := s.store.CommitCase(ctx, &storage.CaseCommit{Case: rec, Audit: []storage.AuditEntry{audit}}); err != nil {
		return kerr.Wrap(op, err)
	}
	c.Sealed, c.UpdatedAt, c.Version = n.Sealed, n.UpdatedAt, rec.Version
	s.log.InfoContext(ctx, "case evidence renewed", "case", c.ID, "files", len(replaced))
	return nil
}

// fitsSealed says whether n may replace old: the same name and content
// type, or the evidence record converted from an old token.
func fitsSealed(old, n File) bool {
	if n.Name == old.Name && n.ContentType == old.ContentType {
		return true
	}
	base, ok := strings.CutSuffix(old.Name, ".tst")
	return ok && n.Name == base+".ers" && n.ContentType == ContentTypeEvidenceRecord
}
