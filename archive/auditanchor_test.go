package archive_test

import (
	"context"
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// TestAnchorAudit: the head of a keyed log is anchored with a token of
// the configured TSA; VerifyAudit checks chain and anchors; anchoring an
// unchanged log stamps nothing new.
func TestAnchorAudit(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	ctx := context.Background()
	key := &storage.AuditKey{ID: "k1", Secret: []byte("an audit key of at least 32 byte")}
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "a.db"), AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := s.AnchorAudit(ctx, st); !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("anchoring an empty log: %v", err)
	}
	for i := range 3 {
		if err := st.AppendAudit(ctx, []storage.AuditEntry{{Time: testpki.Now.Add(time.Duration(i)), Action: "case.register"}}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.AnchorAudit(ctx, st)
	if err != nil || a.Seq != 3 || !a.At.Equal(testpki.Now.Truncate(time.Millisecond)) {
		t.Fatalf("AnchorAudit = %+v, %v", a, err)
	}
	again, err := s.AnchorAudit(ctx, st)
	if err != nil || string(again.Token) != string(a.Token) {
		t.Errorf("anchoring an unchanged log stamped again: %v", err)
	}
	if err := st.AppendAudit(ctx, []storage.AuditEntry{{Time: testpki.Now, Action: "case.complete"}}); err != nil {
		t.Fatal(err)
	}
	if a, err = s.AnchorAudit(ctx, st); err != nil || a.Seq != 4 {
		t.Fatalf("second anchor = %+v, %v", a, err)
	}
	keys := map[string][]byte{key.ID: key.Secret}
	n, anchors, err := s.VerifyAudit(ctx, st, &storage.ChainVerifier{Keys: keys})
	if err != nil || n != 4 || anchors != 2 {
		t.Errorf("VerifyAudit = %d entries, %d anchors, %v", n, anchors, err)
	}
	// A service that trusts another root does not accept the anchors.
	other := newService(t, p, p.TSA, testpki.Now, func(c *archive.Config) { c.TrustAnchors = []*x509.Certificate{p.ECDSAP256.Cert} })
	if _, _, err := other.VerifyAudit(ctx, st, &storage.ChainVerifier{Keys: keys}); !errors.Is(err, storage.ErrChainBroken) {
		t.Errorf("anchors checked against no trusted TSA root: %v", err)
	}
}
