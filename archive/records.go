package archive

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/failpoint"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// Batching of SealFile (see Config.BatchWindow and Config.BatchMax).
const (
	// DefaultBatchMax is Config.BatchMax's default: the most files one
	// timestamp seals.
	DefaultBatchMax = 10000
	// batchTimeout bounds one batch's TSA call, which no single caller's
	// context may cancel for the others.
	batchTimeout = 2 * time.Minute
)

// batcher groups SealFile calls so that one timestamp seals many files
// (RFC 4998 §4.2 hash tree). It is a group commit: the first file starts a
// batch; files arriving while that batch waits (Config.BatchWindow) or
// while its TSA call runs go into the next one. Nobody waits when alone.
type batcher struct {
	mu      sync.Mutex
	queue   []*pendingSeal
	running bool
}

type pendingSeal struct {
	leaf []byte
	done chan sealResult // buffered, 1
}

type sealResult struct {
	rec *ers.EvidenceRecord
	err error
}

// SealFile returns the DER RFC 4998 EvidenceRecord of the file read from r
// (streamed, hashed with SHA-256): one ArchiveTimeStamp from
// Config.Timestamper whose reduced hash tree leads from the file's hash to
// the stamped root of a batch. Calls made at the same time share one
// timestamp (Config.BatchWindow, Config.BatchMax); each gets its own
// record. Keep the record beside the file; VerifyFile checks them
// together, and any RFC 4998 verifier can too.
//
// Errors: kerr.Invalid for a nil reader; kerr.Unavailable when reading r
// or the TSA fails; ctx's error when it is done before the batch is.
func (s *Service) SealFile(ctx context.Context, r io.Reader) ([]byte, error) {
	const op = "archive.SealFile"
	if r == nil {
		return nil, kerr.E(kerr.Invalid, op, "nil reader")
	}
	h := sha256.New()
	if err := hashStream(ctx, h, r); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "reading the file", err)
	}
	rec, err := s.sealLeaf(ctx, h.Sum(nil))
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	der, err := rec.Marshal()
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	return der, nil
}

// SealDigests is SealFile for files already hashed: one record per SHA-256
// digest, all under one timestamp when they fit Config.BatchMax (else one
// per BatchMax). Errors: kerr.Invalid for a digest that is not 32 bytes;
// kerr.Unavailable when the TSA fails.
func (s *Service) SealDigests(ctx context.Context, digests [][]byte) ([][]byte, error) {
	const op = "archive.SealDigests"
	out := make([][]byte, 0, len(digests))
	for len(digests) > 0 {
		n := min(len(digests), s.batchMax())
		recs, err := ers.Seal(ctx, s.stamper(), crypto.SHA256, digests[:n])
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		for _, rec := range recs {
			der, err := rec.Marshal()
			if err != nil {
				return nil, kerr.Wrap(op, err)
			}
			out = append(out, der)
		}
		digests = digests[n:]
	}
	s.log.InfoContext(ctx, "archive: sealed files", "files", len(out))
	return out, nil
}

func (s *Service) batchMax() int {
	if s.cfg.BatchMax > 0 {
		return s.cfg.BatchMax
	}
	return DefaultBatchMax
}

// sealLeaf queues leaf for the next batch and waits for its record.
func (s *Service) sealLeaf(ctx context.Context, leaf []byte) (*ers.EvidenceRecord, error) {
	p := &pendingSeal{leaf: leaf, done: make(chan sealResult, 1)}
	b := &s.batch
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if !b.running {
		b.running = true
		go s.runBatches()
	}
	b.mu.Unlock()
	select {
	case r := <-p.done:
		return r.rec, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// runBatches seals queued leaves, a batch at a time, until none is left.
func (s *Service) runBatches() {
	b := &s.batch
	for {
		if s.cfg.BatchWindow > 0 {
			time.Sleep(s.cfg.BatchWindow)
		}
		b.mu.Lock()
		n := min(len(b.queue), s.batchMax())
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = append([]*pendingSeal(nil), b.queue[n:]...)
		b.mu.Unlock()

		leaves := make([][]byte, len(batch))
		for i, p := range batch {
			leaves[i] = p.leaf
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		recs, err := ers.Seal(ctx, s.stamper(), crypto.SHA256, leaves)
		cancel()
		if err != nil {
			err = kerr.WrapKind(kerr.Unavailable, "archive.SealFile", "the timestamping authority failed; try again", err)
		} else {
			s.log.Info("archive: sealed a batch of files", "files", len(batch))
		}
		for i, p := range batch {
			if err != nil {
				p.done <- sealResult{err: err}
			} else {
				p.done <- sealResult{rec: recs[i]}
			}
		}
	}
}

// stamper is Config.Stamper, or Config.Timestamper for SHA-256, with the
// fault points of a TSA request around every stamp.
func (s *Service) stamper() ers.Stamper {
	if s.cfg.Stamper != nil {
		return faultStamper{s.cfg.Stamper}
	}
	return faultStamper{timestamperStamper{s.cfg.Timestamper}}
}

// faultStamper marks a TSA request for the crash tests
// (failpoint.SealStamping before it, SealStamped once the token is back).
type faultStamper struct{ ers.Stamper }

func (f faultStamper) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	failpoint.Hit(failpoint.SealStamping)
	tok, err := f.Stamper.Stamp(ctx, h, digest)
	if err == nil {
		failpoint.Hit(failpoint.SealStamped)
	}
	return tok, err
}

type timestamperStamper struct{ t signature.Timestamper }

func (t timestamperStamper) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	if h != crypto.SHA256 {
		return nil, fmt.Errorf("%w: Config.Timestamper stamps SHA-256 only, %v asked: set Config.Stamper", timestamp.ErrUnsupported, h)
	}
	tok, err := t.t.Timestamp(ctx, digest)
	if err != nil {
		return nil, err
	}
	if tok == nil || len(tok.Raw) == 0 {
		return nil, fmt.Errorf("%w: no token", timestamp.ErrMalformed)
	}
	return tok.Raw, nil
}

// AuthorityStamper adapts a local timestamping authority to ers.Stamper
// (any hash the authority accepts; TSA certificate included).
func AuthorityStamper(a *timestamp.Authority) ers.Stamper { return authorityStamper{a} }

type authorityStamper struct{ a *timestamp.Authority }

func (a authorityStamper) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	tok, err := a.a.Timestamp(ctx, h, digest, &timestamp.TimestampOptions{CertReq: true})
	if err != nil {
		return nil, err
	}
	return tok.Raw, nil
}

// verifyRecord is VerifyFile for an evidence record.
func (s *Service) verifyRecord(ctx context.Context, op string, r io.Reader, rec *ers.EvidenceRecord, at time.Time) (*FileVerification, error) {
	algs := append([]crypto.Hash(nil), rec.DigestAlgorithms...)
	for _, c := range rec.Chains {
		if c[0].Hash != 0 {
			algs = append(algs, c[0].Hash)
		} else {
			algs = append(algs, crypto.SHA256)
		}
	}
	// A record converted from a token chain needs the file's SHA-256
	// state to check the old renewals (ConvertTokenChain).
	var fh hash.Hash
	if hasTokenChain(rec) {
		fh = sha256.New()
		r = io.TeeReader(r, fh)
	}
	digests, err := ers.HashData(ctx, r, algs)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	roots, inter := s.pools()
	// Validation data kept at renewals (cryptoInfos): certificates for
	// the paths, OCSP responses and CRLs for the old TSAs' status.
	// cryptoInfos that does not parse is used as none: the stamps are
	// then judged on what else there is.
	vd, _ := rec.ValidationData()
	extra := s.cfg.Certs
	for _, c := range vd.Certificates {
		if xc, err := x509.ParseCertificate(c); err == nil {
			extra = append(extra[:len(extra):len(extra)], xc)
		}
	}
	vopts := &ers.VerifyOptions{
		At: at, Roots: roots, Intermediates: inter, ExtraCerts: extra,
		CheckPath: s.recordRevocation(vd),
	}
	if fh != nil {
		state, err := fh.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, kerr.WrapKind(kerr.Internal, op, "saving the file's hash", err)
		}
		vopts.Vouch = s.vouchTokenChain(state)
	}
	res, err := ers.Verify(ctx, rec, digests, vopts)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	v := &FileVerification{At: at, Record: true, Time: res.Time, TSA: res.TSA, Reasons: res.Reasons, Notes: plainNotes(res.Reasons), Original: res.Valid, Failed: res.Failed}
	if d, ok := digests[crypto.SHA256]; ok {
		v.SHA256 = fmt.Sprintf("%x", d)
	}
	for _, sc := range res.Stamps {
		v.Tokens = append(v.Tokens, TokenCheck{Time: sc.Time, TSA: sc.TSA, TSANotAfter: sc.TSANotAfter, Valid: sc.Valid, Hash: sc.Hash})
	}
	return v, nil
}

// NeedsRecordRenewal reports whether an evidence record (DER) should be
// renewed with RenewRecords: true when its newest timestamp's TSA chain,
// validated against Config.TrustAnchors at Config.Clock(), expires within
// horizon of it, when its newest chain's algorithm is in weak, and when
// the record cannot be parsed or its newest timestamp not validated now.
func (s *Service) NeedsRecordRenewal(der []byte, horizon time.Duration, weak []crypto.Hash) bool {
	rec, err := ers.Parse(der)
	if err != nil {
		return true
	}
	last := rec.Chains[len(rec.Chains)-1]
	for _, w := range weak {
		if last[0].Hash == w {
			return true
		}
	}
	return s.tokenExpiresWithin(last[len(last)-1].TimeStamp, horizon)
}

// tokenExpiresWithin is true when the token's TSA chain expires within
// horizon of now or cannot be validated now.
func (s *Service) tokenExpiresWithin(der []byte, horizon time.Duration) bool {
	p, err := timestamp.Parse(der)
	if err != nil {
		return true
	}
	roots, inter := s.pools()
	tok, err := timestamp.Verify(der, p.HashedMessage, &timestamp.VerifyOptions{Roots: roots, Intermediates: inter, ExtraCerts: s.cfg.Certs})
	if err != nil {
		return true
	}
	now := s.clock()
	chains, err := tok.Signer.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: withCerts(inter, tok.Certificates), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return true
	}
	return !now.Add(horizon).Before(chainNotAfter(chains[0]))
}

// RenewRecords renews evidence records (DER) with one timestamp from
// Config.Timestamper (Config.Stamper for algorithms other than SHA-256):
// a timestamp renewal (RFC 4998 §5.2) of each record's last chain. Do it
// before the newest TSA certificate expires (NeedsRecordRenewal). It
// returns the renewed records in order. Errors: kerr.Invalid for a record that
// does not parse or whose chain is full; kerr.Unavailable when the TSA
// fails. On error no record is changed.
func (s *Service) RenewRecords(ctx context.Context, records [][]byte) ([][]byte, error) {
	const op = "archive.RenewRecords"
	if len(records) == 0 {
		return nil, nil
	}
	// One tree per hash algorithm of the last chains.
	type item struct {
		rec   *ers.EvidenceRecord
		group [][]byte
	}
	byHash := map[crypto.Hash][]int{}
	items := make([]item, len(records))
	kept := map[string]*ers.ValidationData{}
	for i, der := range records {
		rec, err := ers.Parse(der)
		if err != nil {
			return nil, kerr.Wrap(op, fmt.Errorf("record %d: %w", i, err))
		}
		// Before the new timestamp covers the newest one: what proves
		// the newest one's TSA valid now (RFC 4998 §5.2).
		if err := s.keepValidationData(ctx, rec, kept); err != nil {
			return nil, kerr.Wrap(op, fmt.Errorf("record %d: %w", i, err))
		}
		h, group, err := rec.TimestampRenewal()
		if err != nil {
			return nil, kerr.Wrap(op, fmt.Errorf("record %d: %w", i, err))
		}
		items[i] = item{rec, group}
		byHash[h] = append(byHash[h], i)
	}
	for h, idx := range byHash {
		for len(idx) > 0 {
			n := min(len(idx), s.batchMax())
			leaves := make([][]byte, n)
			for k, i := range idx[:n] {
				leaves[k] = ers.Group(h, items[i].group)
			}
			tree, err := ers.BuildTree(h, leaves)
			if err != nil {
				return nil, kerr.Wrap(op, err)
			}
			tok, err := s.stamper().Stamp(ctx, h, tree.Root())
			if err != nil {
				return nil, s.extendError(op, "timestamping", err)
			}
			for k, i := range idx[:n] {
				if err := items[i].rec.AddTimestampRenewal(tok, tree.Reduced(k, items[i].group)); err != nil {
					return nil, kerr.WrapKind(kerr.Unavailable, op, "the TSA's token does not fit the renewal", err)
				}
			}
			idx = idx[n:]
		}
	}
	out := make([][]byte, len(items))
	for i, it := range items {
		der, err := it.rec.Marshal()
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		out[i] = der
	}
	s.log.InfoContext(ctx, "archive: renewed evidence records", "records", len(out))
	return out, nil
}

// RenewRecordHashTree renews the hash tree of a file's evidence record
// (DER) with algorithm h (RFC 4998 §5.3), reading the file from r: a new
// chain whose timestamp (from Config.Stamper; Config.Timestamper only for
// SHA-256) covers H(H(file) ‖ H(earlier chains)). Use it when the policy
// declares the record's algorithm weak. Errors: kerr.Invalid for a record
// that does not parse, an unsupported h, a file that is not the one the
// record proves; kerr.Unavailable when reading or the TSA fails.
func (s *Service) RenewRecordHashTree(ctx context.Context, h crypto.Hash, r io.Reader, der []byte) ([]byte, error) {
	const op = "archive.RenewRecordHashTree"
	if h != crypto.SHA256 && s.cfg.Stamper == nil {
		return nil, kerr.E(kerr.FailedPrecondition, op, "Config.Timestamper stamps SHA-256 only; set Config.Stamper to renew with %v", h)
	}
	rec, err := ers.Parse(der)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	algs := append([]crypto.Hash{h}, rec.DigestAlgorithms...)
	digests, err := ers.HashData(ctx, r, algs)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	// Renewing evidence of another file would prove nothing.
	roots, inter := s.pools()
	if res, err := ers.Verify(ctx, rec, digests, &ers.VerifyOptions{At: s.clock(), Roots: roots, Intermediates: inter, ExtraCerts: s.cfg.Certs}); err != nil {
		return nil, kerr.Wrap(op, err)
	} else if !res.Valid {
		return nil, kerr.E(kerr.Invalid, op, "the record does not prove this file now, so renewing it would prove nothing: %v", res.Reasons)
	}
	if err := s.keepValidationData(ctx, rec, nil); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	leaf, err := rec.HashTreeRenewal(h, digests[h])
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	tok, err := s.stamper().Stamp(ctx, h, leaf)
	if err != nil {
		return nil, s.extendError(op, "timestamping", err)
	}
	if err := rec.AddHashTreeRenewal(h, digests[h], tok, nil); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "the TSA's token does not fit the renewal", err)
	}
	out, err := rec.Marshal()
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	s.log.InfoContext(ctx, "archive: renewed an evidence record's hash tree", "hash", h.String())
	return out, nil
}
