package ers

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"io"
	"slices"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/timestamp"
)

// Stamper obtains an RFC 3161 timestamp token (DER) whose message imprint
// is digest under h. A *timestamp.Client or *timestamp.Authority wrapped
// by the caller satisfies it.
type Stamper interface {
	Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error)
}

// New returns the record of one leaf of a batch: one chain with one
// ArchiveTimeStamp of token (over tree.Root()) and the leaf's reduced hash
// tree. token is not verified here; Verify does.
func New(tree *Tree, i int, token []byte) (*EvidenceRecord, error) {
	const op = "ers.New"
	if tree == nil || i < 0 || i >= tree.Len() || len(token) == 0 {
		return nil, kerr.E(kerr.Invalid, op, "need a tree, a leaf index in it and a token")
	}
	return &EvidenceRecord{
		DigestAlgorithms: []crypto.Hash{tree.hash},
		Chains: [][]*ArchiveTimeStamp{{{
			Hash:            tree.hash,
			ReducedHashTree: tree.Reduced(i, nil),
			TimeStamp:       token,
		}}},
	}, nil
}

// Seal makes one record per leaf (each the hash of a data object under h)
// with one timestamp from st over their tree: batch sealing. Errors: those
// of BuildTree (kerr.Invalid); kerr.Unavailable when st fails.
func Seal(ctx context.Context, st Stamper, h crypto.Hash, leaves [][]byte) ([]*EvidenceRecord, error) {
	const op = "ers.Seal"
	tree, err := BuildTree(h, leaves)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	tok, err := stamp(ctx, st, h, tree.Root())
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "timestamping the batch", err)
	}
	out := make([]*EvidenceRecord, tree.Len())
	for i := range out {
		out[i], _ = New(tree, i, tok)
	}
	return out, nil
}

// stamp gets a token and checks that it stamps digest under h.
func stamp(ctx context.Context, st Stamper, h crypto.Hash, digest []byte) ([]byte, error) {
	tok, err := st.Stamp(ctx, h, digest)
	if err != nil {
		return nil, err
	}
	p, err := timestamp.Parse(tok)
	if err != nil {
		return nil, err
	}
	if p.Hash != h || !bytes.Equal(p.HashedMessage, digest) {
		return nil, fmt.Errorf("%w: the token does not stamp the %v digest asked for", timestamp.ErrMismatch, h)
	}
	return tok, nil
}

// chainHash is the hash algorithm of chain c: its first ArchiveTimeStamp's
// digestAlgorithm, or its token's imprint algorithm when absent.
func (er *EvidenceRecord) chainHash(c int) (crypto.Hash, error) {
	a := er.Chains[c][0]
	if a.Hash != 0 {
		return a.Hash, nil
	}
	p, err := timestamp.Parse(a.TimeStamp)
	if err != nil {
		return 0, err
	}
	if !Supported(p.Hash) {
		return 0, fmt.Errorf("imprint algorithm %v is not supported", p.Hash)
	}
	return p.Hash, nil
}

// TimestampRenewal returns what a timestamp renewal (RFC 4998 §5.2) of
// the record must cover: the last chain's hash algorithm and the group of
// the hashes of the timeStamp field of each ArchiveTimeStamp of that
// chain. Put Group(h, group) as the record's leaf into a batch's tree,
// stamp its root, and pass the token and tree.Reduced(i, group) to
// AddTimestampRenewal. Errors have kind kerr.Invalid (a malformed or full
// chain).
func (er *EvidenceRecord) TimestampRenewal() (crypto.Hash, [][]byte, error) {
	const op = "ers.EvidenceRecord.TimestampRenewal"
	if err := er.check(); err != nil {
		return 0, nil, kerr.WrapKind(kerr.Invalid, op, "", err)
	}
	last := len(er.Chains) - 1
	if len(er.Chains[last]) >= MaxStamps {
		return 0, nil, kerr.E(kerr.Invalid, op, "the last chain already has %d archive timestamps: renew the hash tree instead", MaxStamps)
	}
	h, err := er.chainHash(last)
	if err != nil {
		return 0, nil, kerr.WrapKind(kerr.Invalid, op, "", err)
	}
	return h, stampHashes(h, er.Chains[last]), nil
}

func stampHashes(h crypto.Hash, chain []*ArchiveTimeStamp) [][]byte {
	out := make([][]byte, len(chain))
	for i, a := range chain {
		hh := h.New()
		hh.Write(a.TimeStamp)
		out[i] = hh.Sum(nil)
	}
	return out
}

// AddTimestampRenewal appends to the last chain an ArchiveTimeStamp of
// token with reduced hash tree rht (RFC 4998 §5.2). It checks that rht
// leads from the group TimestampRenewal gave to the token's imprint.
// Errors have kind kerr.Invalid.
func (er *EvidenceRecord) AddTimestampRenewal(token []byte, rht [][][]byte) error {
	const op = "ers.EvidenceRecord.AddTimestampRenewal"
	h, group, err := er.TimestampRenewal()
	if err != nil {
		return kerr.Wrap(op, err)
	}
	a := &ArchiveTimeStamp{Hash: h, ReducedHashTree: rht, TimeStamp: token}
	if err := covers(h, a, group); err != nil {
		return kerr.WrapKind(kerr.Invalid, op, "the new timestamp does not cover the chain", err)
	}
	last := len(er.Chains) - 1
	er.Chains[last] = append(er.Chains[last], a)
	return nil
}

// HashTreeRenewal returns the leaf a hash-tree renewal (RFC 4998 §5.3)
// with algorithm h must stamp for the data object whose hash under h is
// dataDigest: H(dataDigest ‖ H(DER of the ArchiveTimeStampSequence)).
// Errors have kind kerr.Invalid (unsupported h, a digest of the wrong
// size, too many chains).
func (er *EvidenceRecord) HashTreeRenewal(h crypto.Hash, dataDigest []byte) ([]byte, error) {
	const op = "ers.EvidenceRecord.HashTreeRenewal"
	if err := er.check(); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "", err)
	}
	if !Supported(h) || len(dataDigest) != h.Size() {
		return nil, kerr.E(kerr.Invalid, op, "need a supported hash algorithm and a digest of its size (got %v, %d bytes)", h, len(dataDigest))
	}
	if len(er.Chains) >= MaxChains {
		return nil, kerr.E(kerr.Invalid, op, "the record already has %d chains", MaxChains)
	}
	return renewedLeaf(h, dataDigest, er.sequenceDER(len(er.Chains))), nil
}

func renewedLeaf(h crypto.Hash, dataDigest, seqDER []byte) []byte {
	hs := h.New()
	hs.Write(seqDER)
	hh := h.New()
	hh.Write(dataDigest)
	hh.Write(hs.Sum(nil))
	return hh.Sum(nil)
}

// AddHashTreeRenewal starts a new chain with an ArchiveTimeStamp of token
// (over a tree with algorithm h) and reduced hash tree rht, after checking
// that rht leads from HashTreeRenewal(h, dataDigest) to the token's
// imprint. Errors have kind kerr.Invalid.
func (er *EvidenceRecord) AddHashTreeRenewal(h crypto.Hash, dataDigest, token []byte, rht [][][]byte) error {
	const op = "ers.EvidenceRecord.AddHashTreeRenewal"
	leaf, err := er.HashTreeRenewal(h, dataDigest)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	a := &ArchiveTimeStamp{Hash: h, ReducedHashTree: rht, TimeStamp: token}
	if err := covers(h, a, [][]byte{leaf}); err != nil {
		return kerr.WrapKind(kerr.Invalid, op, "the new timestamp does not cover the record", err)
	}
	er.Chains = append(er.Chains, []*ArchiveTimeStamp{a})
	if !slices.Contains(er.DigestAlgorithms, h) {
		er.DigestAlgorithms = append(er.DigestAlgorithms, h)
	}
	return nil
}

// covers checks that every value of want is in a's first list (or, with
// no reduced hash tree, that want is one value equal to the imprint), and
// that the tree leads to the token's imprint under h.
func covers(h crypto.Hash, a *ArchiveTimeStamp, want [][]byte) error {
	p, err := timestamp.Parse(a.TimeStamp)
	if err != nil {
		return err
	}
	if p.Hash != h {
		return fmt.Errorf("the token's imprint is %v, the tree's algorithm %v", p.Hash, h)
	}
	root := want[0]
	if a.ReducedHashTree == nil {
		if len(want) != 1 {
			return fmt.Errorf("%d hashes to cover but no reduced hash tree", len(want))
		}
	} else {
		for _, w := range want {
			if !slices.ContainsFunc(a.ReducedHashTree[0], func(v []byte) bool { return bytes.Equal(v, w) }) {
				return fmt.Errorf("a hash to cover is not in the first list of the reduced hash tree (RFC 4998 §4.3 step 2)")
			}
		}
		if root, err = recoverRoot(h, a.ReducedHashTree); err != nil {
			return err
		}
	}
	if !bytes.Equal(root, p.HashedMessage) {
		return fmt.Errorf("%w: the reduced hash tree does not lead to the token's imprint", timestamp.ErrImprintMismatch)
	}
	return nil
}

// HashData reads r once and returns its hash under every algorithm of hs
// (the record's DigestAlgorithms), what Verify needs.
func HashData(ctx context.Context, r io.Reader, hs []crypto.Hash) (map[crypto.Hash][]byte, error) {
	const op = "ers.HashData"
	ws := make([]io.Writer, 0, len(hs))
	hh := map[crypto.Hash]interface{ Sum([]byte) []byte }{}
	for _, h := range hs {
		if !Supported(h) {
			return nil, kerr.E(kerr.Invalid, op, "hash algorithm %v is not supported", h)
		}
		if _, ok := hh[h]; !ok {
			x := h.New()
			hh[h] = x
			ws = append(ws, x)
		}
	}
	w := io.MultiWriter(ws...)
	buf := make([]byte, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, kerr.Wrap(op, err)
		}
		n, err := r.Read(buf)
		w.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, op, "reading the data", err)
		}
	}
	out := make(map[crypto.Hash][]byte, len(hh))
	for h, x := range hh {
		out[h] = x.Sum(nil)
	}
	return out, nil
}
