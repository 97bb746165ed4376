package ers_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/timestamp"
)

// authority is a local TSA on certificate c whose clock reads *now.
type authority struct {
	a   *timestamp.Authority
	now *time.Time
}

func newAuthority(t testing.TB, p *testpki.PKI, c *testpki.Cert, now *time.Time) *authority {
	t.Helper()
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: c.Key, Certificate: c.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Policy: testpki.PolicyOID, Clock: func() time.Time { return *now },
		Serials: timestamp.NewMemorySerialStore(0),
		Hashes:  []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA3_512},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &authority{a: a, now: now}
}

func (a *authority) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	tok, err := a.a.Timestamp(ctx, h, digest, &timestamp.TimestampOptions{CertReq: true})
	if err != nil {
		return nil, err
	}
	return tok.Raw, nil
}

func sum(h crypto.Hash, b []byte) []byte {
	x := h.New()
	x.Write(b)
	return x.Sum(nil)
}

func objects(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "supplementary file %d: 見積書 %d", i, i*7919)
	}
	return out
}

func digestsOf(t testing.TB, rec *ers.EvidenceRecord, data []byte) map[crypto.Hash][]byte {
	t.Helper()
	d, err := ers.HashData(context.Background(), bytes.NewReader(data), rec.DigestAlgorithms)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func verifyAt(t testing.TB, p *testpki.PKI, rec *ers.EvidenceRecord, data []byte, at time.Time) *ers.Result {
	t.Helper()
	res, err := ers.Verify(context.Background(), rec, digestsOf(t, rec, data), &ers.VerifyOptions{At: at, Roots: p.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// seal seals objs in one batch at time at with TSA c.
func seal(t testing.TB, p *testpki.PKI, c *testpki.Cert, at time.Time, h crypto.Hash, objs [][]byte) []*ers.EvidenceRecord {
	t.Helper()
	now := at
	leaves := make([][]byte, len(objs))
	for i, o := range objs {
		leaves[i] = sum(h, o)
	}
	recs, err := ers.Seal(context.Background(), newAuthority(t, p, c, &now), h, leaves)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// reparse is Marshal then Parse: every check runs on what was written.
func reparse(t testing.TB, rec *ers.EvidenceRecord) *ers.EvidenceRecord {
	t.Helper()
	der, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ers.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.Marshal()
	if err != nil || !bytes.Equal(again, der) {
		t.Fatalf("Marshal(Parse(der)) differs from der (err %v)", err)
	}
	return back
}

func TestBatchEveryRecordProvesItsObjectOnly(t *testing.T) {
	p := testpki.New(t)
	for _, n := range []int{1, 2, 5, 8, 33} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			objs := objects(n)
			recs := seal(t, p, p.TSA, testpki.Now, crypto.SHA256, objs)
			if len(recs) != n {
				t.Fatalf("%d records for %d objects", len(recs), n)
			}
			for i, rec := range recs {
				rec = reparse(t, rec)
				res := verifyAt(t, p, rec, objs[i], testpki.Now.AddDate(1, 0, 0))
				if !res.Valid || !res.Time.Equal(testpki.Now) {
					t.Fatalf("record %d: valid %v time %v: %v", i, res.Valid, res.Time, res.Reasons)
				}
				// No other object of the batch, not even its sibling in
				// the tree: the first list holds this object's hash alone
				// (see Tree.Reduced), so one case's file cannot be swapped
				// for another's sealed beside it.
				for j := range objs {
					if j == i {
						continue
					}
					if res := verifyAt(t, p, rec, objs[j], testpki.Now); res.Valid {
						t.Fatalf("record %d proves object %d too", i, j)
					}
				}
				if res := verifyAt(t, p, rec, []byte("never sealed"), testpki.Now); res.Valid {
					t.Fatalf("record %d proves an object never sealed", i)
				}
				flipped := bytes.Clone(objs[i])
				flipped[0] ^= 1
				if res := verifyAt(t, p, rec, flipped, testpki.Now); res.Valid || !res.Failed || res.Stamps[0].Valid {
					t.Fatalf("record %d proves a flipped object", i)
				}
			}
		})
	}
}

func TestTimestampRenewalOutlivesTheFirstTSA(t *testing.T) {
	p := testpki.New(t)
	objs := objects(3)
	recs := seal(t, p, p.TSA, testpki.Now, crypto.SHA256, objs)
	after := testpki.TSANotAfter.AddDate(1, 0, 0) // TSA expired, TSA2 valid
	if res := verifyAt(t, p, recs[0], objs[0], after); res.Valid || res.Failed {
		t.Fatalf("a record whose only TSA has expired: valid %v failed %v; want neither", res.Valid, res.Failed)
	}
	// Renew all three in one batch with TSA2 before TSA expires.
	renewAt := testpki.TSANotAfter.AddDate(0, -6, 0)
	renewTimestamps(t, p, p.TSA2, renewAt, recs)
	for i, rec := range recs {
		rec = reparse(t, rec)
		if len(rec.Chains) != 1 || len(rec.Chains[0]) != 2 {
			t.Fatalf("record %d: chains %d", i, len(rec.Chains))
		}
		res := verifyAt(t, p, rec, objs[i], after)
		if !res.Valid || !res.Time.Equal(testpki.Now) {
			t.Fatalf("record %d after renewal: %v", i, res.Reasons)
		}
		if !res.Stamps[0].TSANotAfter.Equal(testpki.TSANotAfter) {
			t.Fatalf("TSANotAfter %v", res.Stamps[0].TSANotAfter)
		}
	}
	// A second renewal covers both earlier timestamps.
	renewTimestamps(t, p, p.TSA2, renewAt.AddDate(0, 1, 0), recs[:1])
	if res := verifyAt(t, p, reparse(t, recs[0]), objs[0], after); !res.Valid || len(res.Stamps) != 3 {
		t.Fatalf("after a second renewal: %v", res.Reasons)
	}
	// Renewing too late proves nothing: the old TSA was already expired.
	late := seal(t, p, p.TSA, testpki.Now, crypto.SHA256, objs[:1])
	renewTimestamps(t, p, p.TSA2, after, late)
	if res := verifyAt(t, p, late[0], objs[0], after); res.Valid {
		t.Fatal("a renewal made after the first TSA expired makes the record valid")
	}
}

func renewTimestamps(t testing.TB, p *testpki.PKI, c *testpki.Cert, at time.Time, recs []*ers.EvidenceRecord) {
	t.Helper()
	var leaves, groups [][][]byte
	var h crypto.Hash
	for _, rec := range recs {
		hh, group, err := rec.TimestampRenewal()
		if err != nil {
			t.Fatal(err)
		}
		h = hh
		groups = append(groups, group)
		leaves = append(leaves, [][]byte{ers.Group(h, group)})
	}
	flat := make([][]byte, len(leaves))
	for i, l := range leaves {
		flat[i] = l[0]
	}
	tree, err := ers.BuildTree(h, flat)
	if err != nil {
		t.Fatal(err)
	}
	now := at
	tok, err := newAuthority(t, p, c, &now).Stamp(context.Background(), h, tree.Root())
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs {
		if err := rec.AddTimestampRenewal(tok, tree.Reduced(i, groups[i])); err != nil {
			t.Fatal(err)
		}
	}
}

func renewHashTrees(t testing.TB, p *testpki.PKI, c *testpki.Cert, at time.Time, h crypto.Hash, recs []*ers.EvidenceRecord, objs [][]byte) {
	t.Helper()
	leaves := make([][]byte, len(recs))
	for i, rec := range recs {
		l, err := rec.HashTreeRenewal(h, sum(h, objs[i]))
		if err != nil {
			t.Fatal(err)
		}
		leaves[i] = l
	}
	tree, err := ers.BuildTree(h, leaves)
	if err != nil {
		t.Fatal(err)
	}
	now := at
	tok, err := newAuthority(t, p, c, &now).Stamp(context.Background(), h, tree.Root())
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs {
		if err := rec.AddHashTreeRenewal(h, sum(h, objs[i]), tok, tree.Reduced(i, nil)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHashTreeRenewalToAStrongerAlgorithm(t *testing.T) {
	p := testpki.New(t)
	objs := objects(4)
	recs := seal(t, p, p.TSA, testpki.Now, crypto.SHA256, objs)
	renewHashTrees(t, p, p.TSA2, testpki.Now.AddDate(2, 0, 0), crypto.SHA512, recs, objs)
	after := testpki.TSANotAfter.AddDate(1, 0, 0)
	for i, rec := range recs {
		rec = reparse(t, rec)
		if len(rec.Chains) != 2 || len(rec.DigestAlgorithms) != 2 || rec.DigestAlgorithms[1] != crypto.SHA512 {
			t.Fatalf("record %d: %d chains, algorithms %v", i, len(rec.Chains), rec.DigestAlgorithms)
		}
		if res := verifyAt(t, p, rec, objs[i], after); !res.Valid || res.Stamps[1].Hash != crypto.SHA512 {
			t.Fatalf("record %d: %v", i, res.Reasons)
		}
		flipped := bytes.Clone(objs[i])
		flipped[len(flipped)-1] ^= 0x80
		if res := verifyAt(t, p, rec, flipped, after); res.Valid || res.Stamps[0].Valid || res.Stamps[1].Valid {
			t.Fatalf("record %d proves a flipped object: %+v", i, res.Stamps)
		}
	}
	// Tampering with the first chain breaks the second's binding.
	rec := reparse(t, recs[0])
	rec.Chains[0][0].ReducedHashTree[1][0][0] ^= 1
	res := verifyAt(t, p, rec, objs[0], after)
	if res.Valid || res.Stamps[0].Valid || res.Stamps[1].Valid {
		t.Fatalf("a record with a changed first chain verifies: %+v", res.Stamps)
	}
}

func TestErrors(t *testing.T) {
	p := testpki.New(t)
	objs := objects(2)
	recs := seal(t, p, p.TSA, testpki.Now, crypto.SHA256, objs)
	if _, err := ers.BuildTree(crypto.SHA256, nil); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("BuildTree(nil): %v", err)
	}
	if _, err := ers.BuildTree(crypto.SHA256, [][]byte{{1, 2}}); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("BuildTree(short leaf): %v", err)
	}
	if _, err := ers.BuildTree(crypto.SHA1, [][]byte{make([]byte, 20)}); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("BuildTree(SHA-1): %v", err)
	}
	if _, err := ers.Verify(context.Background(), recs[0], nil, &ers.VerifyOptions{Roots: p.Roots()}); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("Verify without At: %v", err)
	}
	if _, err := ers.Verify(context.Background(), recs[0], map[crypto.Hash][]byte{}, &ers.VerifyOptions{At: testpki.Now}); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("Verify without digest: %v", err)
	}
	// A renewal token over something else is refused.
	now := testpki.Now
	tok, err := newAuthority(t, p, p.TSA2, &now).Stamp(context.Background(), crypto.SHA256, sum(crypto.SHA256, []byte("other")))
	if err != nil {
		t.Fatal(err)
	}
	if err := recs[0].AddTimestampRenewal(tok, nil); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("AddTimestampRenewal(foreign token): %v", err)
	}
	if len(recs[0].Chains[0]) != 1 {
		t.Fatal("a refused renewal was added")
	}
	der, _ := recs[0].Marshal()
	for _, bad := range [][]byte{nil, {0x30, 0x00}, der[:len(der)-1], append(bytes.Clone(der), 0)} {
		if _, err := ers.Parse(bad); !errors.Is(err, ers.ErrMalformed) || !errors.Is(err, kerr.Invalid) {
			t.Fatalf("Parse(%d bytes): %v", len(bad), err)
		}
	}
}
