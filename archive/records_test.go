package archive_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/archive/ers/erstest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// counting counts the timestamps a Timestamper makes.
type counting struct {
	signature.Timestamper
	n atomic.Int64
}

func (c *counting) Timestamp(ctx context.Context, digest []byte) (*timestamp.Token, error) {
	c.n.Add(1)
	return c.Timestamper.Timestamp(ctx, digest)
}

func sealFile(t testing.TB, s *archive.Service, file []byte) []byte {
	t.Helper()
	rec, err := s.SealFile(context.Background(), bytes.NewReader(file))
	if err != nil {
		t.Fatalf("SealFile: %v", err)
	}
	return rec
}

func parseRecord(t testing.TB, der []byte) *ers.EvidenceRecord {
	t.Helper()
	rec, err := ers.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestSealFileMakesAnEvidenceRecord: SealFile's record proves exactly the
// file, by our verification, by Bouncy Castle and by openssl.
func TestSealFileMakesAnEvidenceRecord(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	der := sealFile(t, s, attachment)
	v := verifyFile(t, s, attachment, der, nil)
	if !v.Original || !v.Record || !v.Time.Equal(testpki.Now) || len(v.Tokens) != 1 || v.Tokens[0].Hash != crypto.SHA256 {
		t.Fatalf("verdict: %+v", v)
	}
	if v.SHA256 != fmt.Sprintf("%x", sha256.Sum256(attachment)) {
		t.Fatalf("SHA256 %s", v.SHA256)
	}
	changed := append(bytes.Clone(attachment), ' ')
	if v := verifyFile(t, s, changed, der, nil); v.Original || !v.Failed || len(v.Reasons) == 0 {
		t.Fatalf("a changed file is original: %+v", v)
	}
	if _, err := s.VerifyFile(context.Background(), bytes.NewReader(attachment), der, &archive.VerifyOptions{Renewals: [][]byte{der}}); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("a record with token renewals: %v", err)
	}
	rec := parseRecord(t, der)
	if got := erstest.BouncyCastle(t, testpki.Now.AddDate(1, 0, 0), []*ers.EvidenceRecord{rec, rec}, [][]byte{attachment, changed}); got[0] != "OK" || got[1] == "OK" {
		t.Fatalf("Bouncy Castle: %q", got)
	}
	erstest.OpenSSL(t, p.Root.Cert, rec)
}

// TestSealFileBatchesConcurrentCalls: files sealed at the same time share
// timestamps, and each record proves its own file.
func TestSealFileBatchesConcurrentCalls(t *testing.T) {
	p := testpki.New(t)
	ts := &counting{Timestamper: tsaAt(t, p, p.TSA, testpki.Now)}
	s := newService(t, p, p.TSA, testpki.Now, func(c *archive.Config) {
		c.Timestamper = ts
		c.BatchWindow = 200 * time.Millisecond
	})
	const n = 40
	files := make([][]byte, n)
	recs := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range files {
		files[i] = fmt.Appendf(nil, "添付資料 %d", i)
		wg.Go(func() {
			rec, err := s.SealFile(context.Background(), bytes.NewReader(files[i]))
			if err != nil {
				t.Error(err)
			}
			recs[i] = rec
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if got := ts.n.Load(); got >= n {
		t.Fatalf("%d timestamps for %d concurrent files: no batching", got, n)
	}
	for i := range files {
		if v := verifyFile(t, s, files[i], recs[i], nil); !v.Original {
			t.Fatalf("file %d: %v", i, v.Reasons)
		}
		if v := verifyFile(t, s, files[(i+7)%n], recs[i], nil); v.Original {
			t.Fatalf("record %d proves file %d", i, (i+7)%n)
		}
	}
	// A TSA failure fails the whole batch, and nothing is half sealed.
	bad := newService(t, p, p.TSA, testpki.Now, func(c *archive.Config) { c.Timestamper = failing{} })
	if _, err := bad.SealFile(context.Background(), bytes.NewReader(attachment)); !errors.Is(err, kerr.Unavailable) {
		t.Fatalf("SealFile with a failing TSA: %v", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.SealFile(cancelled, bytes.NewReader(attachment)); !errors.Is(err, context.Canceled) {
		t.Fatalf("SealFile cancelled: %v", err)
	}
}

type failing struct{}

func (failing) Timestamp(context.Context, []byte) (*timestamp.Token, error) {
	return nil, fmt.Errorf("%w: TSA down", timestamp.ErrRejected)
}

// TestSealDigestsOneTimestamp: a thousand digests, one timestamp.
func TestSealDigestsOneTimestamp(t *testing.T) {
	p := testpki.New(t)
	ts := &counting{Timestamper: tsaAt(t, p, p.TSA, testpki.Now)}
	s := newService(t, p, p.TSA, testpki.Now, func(c *archive.Config) { c.Timestamper = ts; c.BatchMax = 600 })
	var digests [][]byte
	for i := range 1000 {
		d := sha256.Sum256(fmt.Appendf(nil, "file %d", i))
		digests = append(digests, d[:])
	}
	recs, err := s.SealDigests(context.Background(), digests)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1000 || ts.n.Load() != 2 {
		t.Fatalf("%d records, %d timestamps; want 1000 and 2 (BatchMax 600)", len(recs), ts.n.Load())
	}
	for _, i := range []int{0, 1, 599, 600, 999} {
		if v := verifyFile(t, s, fmt.Appendf(nil, "file %d", i), recs[i], nil); !v.Original {
			t.Fatalf("record %d: %v", i, v.Reasons)
		}
	}
	if _, err := s.SealDigests(context.Background(), [][]byte{{1}}); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("a short digest: %v", err)
	}
}

// TestRecordRenewal: a record renewed (timestamp renewal, then hash-tree
// renewal to SHA-512) before its TSA expires stays original after; one
// that is not renewed does not.
func TestRecordRenewal(t *testing.T) {
	p := testpki.New(t)
	t0, t1 := testpki.Now, testpki.TSANotAfter
	renewAt, after := t1.AddDate(0, 0, -1), t1.AddDate(1, 0, 0)
	der := sealFile(t, newService(t, p, p.TSA, t0, nil), attachment)
	other := sealFile(t, newService(t, p, p.TSA, t0, nil), []byte("other"))

	renewer := newService(t, p, p.TSA2, renewAt, nil)
	if !renewer.NeedsRecordRenewal(der, 30*24*time.Hour, nil) || renewer.NeedsRecordRenewal(der, time.Hour, nil) {
		t.Fatal("NeedsRecordRenewal: want renewal within 30 days, not within an hour")
	}
	if !renewer.NeedsRecordRenewal(der, time.Hour, []crypto.Hash{crypto.SHA256}) {
		t.Fatal("NeedsRecordRenewal: SHA-256 declared weak must ask for renewal")
	}
	renewed, err := renewer.RenewRecords(context.Background(), [][]byte{der, other})
	if err != nil {
		t.Fatal(err)
	}
	verifier := newService(t, p, p.TSA2, after, nil)
	if v := verifyFile(t, verifier, attachment, der, nil); v.Original || v.Failed {
		t.Fatalf("an unrenewed record after its TSA expired: original %v failed %v; want INDETERMINATE", v.Original, v.Failed)
	}
	v := verifyFile(t, verifier, attachment, renewed[0], nil)
	if !v.Original || len(v.Tokens) != 2 || !v.Time.Equal(t0) {
		t.Fatalf("renewed: %+v", v)
	}
	if v := verifyFile(t, verifier, []byte("other"), renewed[1], nil); !v.Original {
		t.Fatalf("the batch's other record: %v", v.Reasons)
	}

	// Hash-tree renewal to SHA-512 needs a stamper for SHA-512.
	authority := func(c *testpki.Cert, at time.Time) *timestamp.Authority {
		a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
			Signer: c.Key, Certificate: c.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
			Policy: testpki.PolicyOID, Clock: func() time.Time { return at }, Serials: timestamp.NewMemorySerialStore(0),
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if _, err := renewer.RenewRecordHashTree(context.Background(), crypto.SHA512, bytes.NewReader(attachment), renewed[0]); !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("SHA-512 renewal without a Stamper: %v", err)
	}
	strong := newService(t, p, p.TSA2, renewAt.AddDate(0, 1, 0), func(c *archive.Config) {
		c.Stamper = archive.AuthorityStamper(authority(p.TSA2, renewAt.AddDate(0, 1, 0)))
	})
	if _, err := strong.RenewRecordHashTree(context.Background(), crypto.SHA512, bytes.NewReader([]byte("not it")), renewed[0]); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("hash-tree renewal for another file: %v", err)
	}
	rehashed, err := strong.RenewRecordHashTree(context.Background(), crypto.SHA512, bytes.NewReader(attachment), renewed[0])
	if err != nil {
		t.Fatal(err)
	}
	v = verifyFile(t, verifier, attachment, rehashed, nil)
	if !v.Original || len(v.Tokens) != 3 || v.Tokens[2].Hash != crypto.SHA512 {
		t.Fatalf("rehashed: %+v", v)
	}
	flipped := bytes.Clone(attachment)
	flipped[3] ^= 1
	if v := verifyFile(t, verifier, flipped, rehashed, nil); v.Original {
		t.Fatal("a flipped file is original")
	}
	rec := parseRecord(t, rehashed)
	if got := erstest.BouncyCastle(t, after, []*ers.EvidenceRecord{rec, rec}, [][]byte{attachment, flipped}); got[0] != "OK" || got[1] == "OK" {
		t.Fatalf("Bouncy Castle: %q", got)
	}
	erstest.OpenSSL(t, p.Root.Cert, rec)
}

// TestConvertTokenChain: a token chain renewed across its first TSA's
// expiry becomes a record that stays original; without the old renewals
// (what an RFC 4998 verifier sees) the first TSA was no longer valid when
// the record's renewal was made.
func TestConvertTokenChain(t *testing.T) {
	p := testpki.New(t)
	t0, t1 := testpki.Now, testpki.TSANotAfter
	tok := stamp(t, newService(t, p, p.TSA, t0, nil), attachment)
	renewal, err := newService(t, p, p.TSA2, t1.AddDate(0, 0, -1), nil).RenewFileToken(context.Background(), bytes.NewReader(attachment), [][]byte{tok})
	if err != nil {
		t.Fatal(err)
	}
	convertAt := t1.AddDate(0, 6, 0)
	conv := newService(t, p, p.TSA2, convertAt, nil)
	if _, err := conv.ConvertTokenChain(context.Background(), bytes.NewReader(attachment), [][]byte{tok}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("converting a chain that no longer proves the file: %v", err)
	}
	if _, err := conv.ConvertTokenChain(context.Background(), bytes.NewReader([]byte("x")), [][]byte{tok, renewal}); !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("converting for another file: %v", err)
	}
	if _, err := conv.ConvertTokenChain(context.Background(), bytes.NewReader(attachment), nil); !errors.Is(err, kerr.Invalid) {
		t.Fatalf("converting no chain: %v", err)
	}
	der, err := conv.ConvertTokenChain(context.Background(), bytes.NewReader(attachment), [][]byte{tok, renewal})
	if err != nil {
		t.Fatal(err)
	}
	later := newService(t, p, p.TSA2, convertAt.AddDate(2, 0, 0), nil)
	v := verifyFile(t, later, attachment, der, nil)
	if !v.Original || !v.Record || !v.Time.Equal(t0) || len(v.Tokens) != 2 {
		t.Fatalf("converted: %+v", v)
	}
	if v := verifyFile(t, later, append(bytes.Clone(attachment), 0), der, nil); v.Original {
		t.Fatal("converted record proves a changed file")
	}
	rec := parseRecord(t, der)
	stripped := parseRecord(t, der)
	stripped.Chains[0][0].Attributes = nil
	sd, err := stripped.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if v := verifyFile(t, later, attachment, sd, nil); v.Original {
		t.Fatal("without the old renewals the record must not be original: its first TSA had expired")
	}
	// An RFC 4998 verifier checks the structure and the newest signature.
	if got := erstest.BouncyCastle(t, convertAt.AddDate(2, 0, 0), []*ers.EvidenceRecord{rec}, [][]byte{attachment}); got[0] != "OK" {
		t.Fatalf("Bouncy Castle: %q", got)
	}
	erstest.OpenSSL(t, p.Root.Cert, rec)
}
