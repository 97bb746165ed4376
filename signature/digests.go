package signature

import (
	"crypto"
	"encoding"
	"fmt"
	"hash"
	"io"
	"sort"
	"sync"
)

// checkAll checks each entry, then computes every digest the entries need
// and finishes their checks.
func (v *validator) checkAll(entries []*entry) error {
	for _, e := range entries {
		if err := v.ctx.Err(); err != nil {
			return err
		}
		if err := v.checkEntry(e); err != nil {
			return err
		}
	}
	if err := v.computeDigests(entries); err != nil {
		return err
	}
	for _, e := range entries {
		if e.pending == nil {
			continue
		}
		if err := e.pending(e.digest, e.inFile); err != nil {
			return err
		}
		e.pending = nil
	}
	return nil
}

// computeDigests hashes the byte ranges of every entry in one pass per
// digest algorithm. Each signature's ranges begin with [0, gap): the
// signatures of a file share the bytes up to the first gap, those of the
// later ones up to theirs, and so on. So one hash state runs from the start
// of the file, and at each signature's gap a copy of it is taken to finish
// that signature's second range. A file with n signatures is read about
// once instead of n times.
func (v *validator) computeDigests(entries []*entry) error {
	bp := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(bp)
	v.buf = *bp
	defer func() { v.buf = nil }()
	groups := map[string][]*entry{}
	for _, e := range entries {
		if e.pending == nil {
			continue
		}
		br := e.rep.ByteRange
		if e.alg.new == nil || !rangesInFile(br, v.size) {
			continue // digest nil, inFile false
		}
		if br[0] != 0 || len(br) < 2 {
			// An unusual layout: hash it alone.
			h := e.alg.new()
			ok, err := hashRanges(v.r, v.size, br, h, v.buf)
			if err != nil {
				return err
			}
			e.digest, e.inFile = h.Sum(nil), ok
			continue
		}
		groups[e.alg.key] = append(groups[e.alg.key], e)
	}
	for _, es := range groups {
		sort.SliceStable(es, func(i, j int) bool { return es[i].rep.ByteRange[1] < es[j].rep.ByteRange[1] })
		alg := es[0].alg
		run := alg.new()
		var pos int64
		for _, e := range es {
			if err := v.ctx.Err(); err != nil {
				return err
			}
			br := e.rep.ByteRange
			if _, err := io.CopyBuffer(run, io.NewSectionReader(v.r, pos, br[1]-pos), v.buf); err != nil {
				return err
			}
			pos = br[1]
			fork, err := cloneHash(alg.new, run)
			if err != nil {
				return err
			}
			ok, err := hashRanges(v.r, v.size, br[2:], fork, v.buf)
			if err != nil {
				return err
			}
			e.digest, e.inFile = fork.Sum(nil), ok
		}
	}
	return nil
}

// rangesInFile reports whether ranges (offset, length pairs) lie within
// [0, size).
func rangesInFile(ranges []int64, size int64) bool {
	if len(ranges) == 0 || len(ranges)%2 != 0 {
		return false
	}
	for i := 0; i < len(ranges); i += 2 {
		off, n := ranges[i], ranges[i+1]
		if off < 0 || n < 0 || off > size || n > size-off {
			return false
		}
	}
	return true
}

// digestAlg is a digest over the byte ranges: a crypto.Hash, or one
// outside it (SHAKE256). key groups the entries that share it.
type digestAlg struct {
	key string
	new func() hash.Hash
}

func cryptoDigest(h crypto.Hash) digestAlg {
	if !h.Available() {
		return digestAlg{}
	}
	return digestAlg{key: h.String(), new: h.New}
}

// cloneHash copies the state of h, made by newHash: the standard library's
// digests marshal their state for exactly this.
func cloneHash(newHash func() hash.Hash, h hash.Hash) (hash.Hash, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("signature: the %T digest cannot copy its state", h)
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	c := newHash()
	if err := c.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, err
	}
	return c, nil
}

// hashBufs holds the read buffers of the hash pass: 256 KiB reads keep a
// large file's pass at disk speed, and reusing them keeps a busy service
// from allocating one per validation.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
