package storagetest

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/timestamp"
)

// Truncater removes the audit entries with Seq >= from behind the store's
// back (bypassing the append-only triggers), as someone with write access
// to the database would.
type Truncater func(t *testing.T, s storage.Store, from int64)

// RunAuditAnchors checks a backend's audit anchors (issue 11) with real
// RFC 3161 tokens from the test PKI's TSA: the store's rules for
// PutAuditAnchor, and that storage.VerifyAnchoredChain finds a tail
// removed after an anchor.
func RunAuditAnchors(t *testing.T, newStore func(t *testing.T) storage.Store, truncate Truncater) {
	p := testpki.New(t)
	tsa, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.TSA.Key, Certificate: p.TSA.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Policy: testpki.PolicyOID, Clock: func() time.Time { return testpki.Now },
		Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	anchor := func(t *testing.T, e storage.AuditEntry) *storage.AuditAnchor {
		tok, err := tsa.Timestamp(ctx, crypto.SHA256, storage.AnchorDigest(e.Seq, e.Hash), &timestamp.TimestampOptions{CertReq: true})
		if err != nil {
			t.Fatal(err)
		}
		return &storage.AuditAnchor{Seq: e.Seq, Hash: e.Hash, At: tok.Time, Token: tok.Raw}
	}
	check := func(a *storage.AuditAnchor, digest []byte) error {
		_, err := timestamp.Verify(a.Token, digest, &timestamp.VerifyOptions{Roots: p.Roots()})
		return err
	}
	fill := func(t *testing.T) (storage.Store, []storage.AuditEntry) {
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		for i := range 5 {
			if err := s.AppendAudit(ctx, []storage.AuditEntry{{Time: base.Add(time.Duration(i) * time.Second), Action: "case.register", CaseID: "c1"}}); err != nil {
				t.Fatal(err)
			}
		}
		es, err := s.ListAudit(ctx, 0, "", 10)
		if err != nil || len(es) != 5 {
			t.Fatalf("ListAudit: %d, %v", len(es), err)
		}
		return s, es
	}
	t.Run("Rules", func(t *testing.T) {
		s, es := fill(t)
		if _, err := s.LastAuditAnchor(ctx); !errors.Is(err, kerr.NotFound) {
			t.Errorf("LastAuditAnchor of none: %v", err)
		}
		a3 := anchor(t, es[2])
		if err := s.PutAuditAnchor(ctx, a3); err != nil {
			t.Fatal(err)
		}
		wrongHash := anchor(t, es[3])
		wrongHash.Hash = es[2].Hash
		missing := anchor(t, es[4])
		missing.Seq = 99
		empty := anchor(t, es[4])
		empty.Token = nil
		for name, tc := range map[string]struct {
			a    *storage.AuditAnchor
			want error
		}{
			"same entry again":     {anchor(t, es[2]), kerr.Conflict},
			"an earlier entry":     {anchor(t, es[1]), kerr.Conflict},
			"a missing entry":      {missing, kerr.FailedPrecondition},
			"another entry's hash": {wrongHash, kerr.FailedPrecondition},
			"no token":             {empty, kerr.Invalid},
		} {
			if err := s.PutAuditAnchor(ctx, tc.a); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", name, err, tc.want)
			}
		}
		a5 := anchor(t, es[4])
		if err := s.PutAuditAnchor(ctx, a5); err != nil {
			t.Fatal(err)
		}
		last, err := s.LastAuditAnchor(ctx)
		if err != nil || last.Seq != 5 || string(last.Token) != string(a5.Token) || !last.At.Equal(a5.At) {
			t.Errorf("LastAuditAnchor = %+v, %v", last, err)
		}
		list, err := s.ListAuditAnchors(ctx, 0, 10)
		if err != nil || len(list) != 2 || list[0].Seq != 3 || list[1].Seq != 5 {
			t.Errorf("ListAuditAnchors = %+v, %v", list, err)
		}
		n, anchors, err := storage.VerifyAnchoredChain(ctx, s, &storage.ChainVerifier{}, check)
		if err != nil || n != 5 || anchors != 2 {
			t.Errorf("VerifyAnchoredChain = %d entries, %d anchors, %v", n, anchors, err)
		}
	})
	t.Run("TruncatedTail", func(t *testing.T) {
		s, es := fill(t)
		if err := s.PutAuditAnchor(ctx, anchor(t, es[3])); err != nil {
			t.Fatal(err)
		}
		truncate(t, s, 4) // entries 4 and 5 go; the anchor proves 4 existed
		n, _, err := storage.VerifyAnchoredChain(ctx, s, &storage.ChainVerifier{}, check)
		if !errors.Is(err, storage.ErrChainBroken) || n != 3 {
			t.Errorf("truncated log: %d entries held, %v; want ErrChainBroken after entry 3", n, err)
		}
		// Without anchors the same truncation passes: what anchors add.
		if n, err := storage.VerifyChain(ctx, s); err != nil || n != 3 {
			t.Errorf("plain VerifyChain of the truncated log = %d, %v", n, err)
		}
	})
	t.Run("ForgedToken", func(t *testing.T) {
		s, es := fill(t)
		// A token over another digest, stored for entry 2: the TSA never
		// stamped this head.
		a := anchor(t, es[0])
		a.Seq, a.Hash = es[1].Seq, es[1].Hash
		if err := s.PutAuditAnchor(ctx, a); err != nil {
			t.Fatal(err)
		}
		if n, _, err := storage.VerifyAnchoredChain(ctx, s, &storage.ChainVerifier{}, check); !errors.Is(err, storage.ErrChainBroken) || !errors.Is(err, timestamp.ErrImprintMismatch) || n != 1 {
			t.Errorf("anchor with another entry's token: %d, %v", n, err)
		}
	})
}
