package ers

import (
	"bytes"
	"crypto"
	"fmt"
	"slices"

	"github.com/keiyaku/keiyaku/kerr"
)

// MaxLeaves is the most leaves BuildTree takes: one timestamp for a
// million objects.
const MaxLeaves = 1 << 20

// Tree is a binary hash tree over the leaves of a batch (RFC 4998 §4.2):
// one timestamp over Root seals every leaf, and Reduced gives each leaf
// its own reduced hash tree.
type Tree struct {
	hash   crypto.Hash
	levels [][][]byte // levels[0] are the leaves, the last level is the root
}

// BuildTree hashes the leaves (each a value of h's size: a data object's
// hash, or a Group value) pairwise up to one root. Two nodes are hashed as
// their concatenation in binary ascending order; the last node of an odd
// level moves up unchanged. Errors have kind kerr.Invalid: no leaves, more
// than MaxLeaves, a leaf of the wrong size, an unsupported h.
func BuildTree(h crypto.Hash, leaves [][]byte) (*Tree, error) {
	const op = "ers.BuildTree"
	if !Supported(h) {
		return nil, kerr.E(kerr.Invalid, op, "hash algorithm %v is not supported", h)
	}
	if len(leaves) == 0 || len(leaves) > MaxLeaves {
		return nil, kerr.E(kerr.Invalid, op, "%d leaves; want 1..%d", len(leaves), MaxLeaves)
	}
	for i, l := range leaves {
		if len(l) != h.Size() {
			return nil, kerr.E(kerr.Invalid, op, "leaf %d has %d bytes; %v needs %d", i, len(l), h, h.Size())
		}
	}
	t := &Tree{hash: h, levels: [][][]byte{leaves}}
	hh := h.New()
	for cur := leaves; len(cur) > 1; {
		next := make([][]byte, 0, (len(cur)+1)/2)
		// One backing array per level: 10,000 leaves make 20,000 nodes,
		// not 20,000 allocations.
		buf := make([]byte, 0, (len(cur)+1)/2*h.Size())
		for i := 0; i+1 < len(cur); i += 2 {
			n := len(buf)
			buf = pairHash(hh, buf, cur[i], cur[i+1])
			next = append(next, buf[n:len(buf):len(buf)])
		}
		if len(cur)%2 == 1 {
			next = append(next, cur[len(cur)-1])
		}
		t.levels = append(t.levels, next)
		cur = next
	}
	return t, nil
}

// Root is the value to timestamp.
func (t *Tree) Root() []byte { return t.levels[len(t.levels)-1][0] }

// Len is the number of leaves.
func (t *Tree) Len() int { return len(t.levels[0]) }

// Reduced returns the reduced hash tree of leaf i (RFC 4998 §4.2): nil
// for a tree of one leaf whose group has at most one value (the timestamp
// then stamps the leaf itself); otherwise the first list holds group
// (the values the leaf hashes, see Group) or, for a plain leaf, the leaf
// alone, then one list per sibling. group may be nil for a plain leaf.
//
// The leaf stands alone in its first list, rather than beside its first
// sibling as RFC 4998 §4.2 allows, because verification (§4.3 step 2)
// accepts any value of the first list: a record whose first list held
// two files' hashes would prove either file, so one case's file could be
// swapped for another case's file sealed beside it and still verify as
// original. A one-value list's group value is the value itself, so the
// root, and the timestamp over it, are the same.
func (t *Tree) Reduced(i int, group [][]byte) [][][]byte {
	leaf := t.levels[0][i]
	if len(group) == 1 {
		leaf = group[0]
	}
	var sibs [][]byte
	for _, lvl := range t.levels[:len(t.levels)-1] {
		if j := i ^ 1; j < len(lvl) {
			sibs = append(sibs, lvl[j])
		}
		i /= 2
	}
	var out [][][]byte
	switch {
	case len(group) > 1:
		out = append(out, group)
	case len(sibs) == 0:
		return nil
	default:
		out = append(out, [][]byte{leaf})
	}
	for _, s := range sibs {
		out = append(out, [][]byte{s})
	}
	return out
}

// Group returns the leaf value of a group of hash values: the value itself
// for one, else the hash of their concatenation in binary ascending order
// (RFC 4998 §4.2). A timestamp renewal covers the group of the earlier
// timestamps' hashes.
func Group(h crypto.Hash, values [][]byte) []byte {
	if len(values) == 1 {
		return values[0]
	}
	s := slices.Clone(values)
	slices.SortFunc(s, bytes.Compare)
	hh := h.New()
	for _, v := range s {
		hh.Write(v)
	}
	return hh.Sum(nil)
}

type hasher interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
	Reset()
}

// pairHash appends H(min(a,b) ‖ max(a,b)) to dst.
func pairHash(hh hasher, dst, a, b []byte) []byte {
	if bytes.Compare(a, b) > 0 {
		a, b = b, a
	}
	hh.Reset()
	hh.Write(a)
	hh.Write(b)
	return hh.Sum(dst)
}

// recoverRoot computes the root a reduced hash tree leads to: the first
// list's Group value, then each further list's Group value hashed with it
// as a pair (RFC 4998 §4.3 steps 3–4).
func recoverRoot(h crypto.Hash, rht [][][]byte) ([]byte, error) {
	for _, l := range rht {
		for _, v := range l {
			if len(v) != h.Size() {
				return nil, fmt.Errorf("a hash value of %d bytes in a %v tree", len(v), h)
			}
		}
	}
	hh := h.New()
	cur := Group(h, rht[0])
	for _, l := range rht[1:] {
		cur = pairHash(hh, nil, cur, Group(h, l))
	}
	return cur, nil
}
