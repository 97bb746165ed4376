package archive

import (
	"context"
	"errors"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/timestamp"
)

// AnchorAudit timestamps the head of the audit log of st with
// Config.Timestamper (RFC 3161) and stores the anchor (see
// storage.AuditAnchor): from then on, verification proves that the log
// had at least that many entries, with those hashes. Run it regularly —
// e.g. hourly from a scheduled job: entries after the last anchor can be
// removed from the tail unnoticed, so the period is how much tail an
// attacker with database access could drop. A log that did not grow since
// the last anchor is not stamped again; the last anchor is returned. An
// empty log returns kerr.FailedPrecondition; a TSA that fails,
// kerr.Unavailable.
func (s *Service) AnchorAudit(ctx context.Context, st storage.AnchoredStore) (*storage.AuditAnchor, error) {
	const op = "archive.AnchorAudit"
	last, err := st.LastAuditAnchor(ctx)
	if err != nil && !errors.Is(err, kerr.NotFound) {
		return nil, kerr.Wrap(op, err)
	}
	var after int64
	if last != nil {
		after = last.Seq
	}
	var head *storage.AuditEntry
	for {
		page, err := st.ListAudit(ctx, after, "", 1000)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		if len(page) == 0 {
			break
		}
		head = &page[len(page)-1]
		after = head.Seq
	}
	if head == nil {
		if last != nil {
			return last, nil
		}
		return nil, kerr.E(kerr.FailedPrecondition, op, "the audit log is empty: nothing to anchor yet")
	}
	tok, err := s.stamp(ctx, storage.AnchorDigest(head.Seq, head.Hash))
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "timestamping the audit log's head", err)
	}
	parsed, err := timestamp.Parse(tok)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "the TSA's token", err)
	}
	a := &storage.AuditAnchor{Seq: head.Seq, Hash: head.Hash, At: parsed.Time, Token: tok}
	if err := st.PutAuditAnchor(ctx, a); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return a, nil
}

// VerifyAudit checks the whole audit log of st and its anchors (see
// storage.VerifyAnchoredChain): the chain under v (give v.Keys for a keyed
// log; nil v means an unkeyed one), each anchor's token verified against
// the TSA roots of Config (TrustAnchors and Certs), and that the log still
// reaches its last anchor. It returns how many entries and anchors held;
// an error wrapping storage.ErrChainBroken names the first entry that does
// not hold.
func (s *Service) VerifyAudit(ctx context.Context, st storage.AnchoredStore, v *storage.ChainVerifier) (entries int64, anchors int, err error) {
	if v == nil {
		v = &storage.ChainVerifier{}
	}
	roots, inter := s.pools()
	return storage.VerifyAnchoredChain(ctx, st, v, func(a *storage.AuditAnchor, digest []byte) error {
		tok, err := timestamp.Verify(a.Token, digest, &timestamp.VerifyOptions{Roots: roots, Intermediates: inter, ExtraCerts: s.cfg.Certs})
		if err != nil {
			return err
		}
		if !tok.Time.Equal(a.At) {
			return errors.New("the stored anchor time is not the token's time")
		}
		return nil
	})
}
