package pdf

import (
	"fmt"
	"io"
	"strconv"
)

// objStm is a decoded object stream (§7.5.7).
type objStm struct {
	data  []byte
	first int
	nums  []int
	offs  []int
}

const maxObjStmCache = 32

func (f *File) fromObjStm(stmNum, index, num, rev int) (Object, error) {
	ref := Ref{Num: stmNum}
	e, _, ok := f.EntryFor(ref, rev)
	if !ok || e.Free || e.Stream != 0 {
		return nil, malformed("object %d: object stream %d is not a stored object", num, stmNum)
	}
	f.mu.Lock()
	st := f.objstms[e.Offset]
	f.mu.Unlock()
	if st == nil {
		o, err := f.load(ref, rev, true)
		if err != nil {
			return nil, fmt.Errorf("object stream %d: %w", stmNum, err)
		}
		s, ok := o.(*Stream)
		if !ok {
			return nil, malformed("object %d: object %d is not a stream", num, stmNum)
		}
		if st, err = f.decodeObjStm(s); err != nil {
			return nil, fmt.Errorf("object stream %d: %w", stmNum, err)
		}
		f.mu.Lock()
		if len(f.objstms) >= maxObjStmCache {
			clear(f.objstms)
		}
		f.objstms[e.Offset] = st
		f.mu.Unlock()
	}
	i := index
	if i < 0 || i >= len(st.nums) || st.nums[i] != num {
		i = -1
		for k, n := range st.nums {
			if n == num {
				i = k
				break
			}
		}
		if i < 0 {
			return nil, nil
		}
	}
	start := st.first + st.offs[i]
	if start < 0 || start >= len(st.data) {
		return nil, malformed("object %d: offset outside object stream %d", num, stmNum)
	}
	p := &parser{b: st.data[start:], maxDepth: f.opts.MaxDepth, final: true}
	o, err := p.object(0)
	if err != nil {
		return nil, fmt.Errorf("object %d in object stream %d: %w", num, stmNum, asMalformed(err))
	}
	return o, nil
}

func asMalformed(err error) error {
	if err == errShort {
		return malformed("unexpected end of data")
	}
	return err
}

func (f *File) decodeObjStm(s *Stream) (*objStm, error) {
	n, ok1 := s.Dict.Int("N")
	first, ok2 := s.Dict.Int("First")
	if !ok1 || !ok2 || n < 0 || first < 0 || n > int64(f.opts.MaxObjects) {
		return nil, malformed("bad /N or /First")
	}
	var zs []io.ReadCloser
	defer func() { releaseZlib(zs) }()
	rd, err := f.streamReader(s, true, &zs)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	if first > int64(len(data)) {
		return nil, malformed("/First %d beyond the %d decoded bytes", first, len(data))
	}
	st := &objStm{data: data, first: int(first)}
	p := &parser{b: data[:first], final: true}
	for range n {
		var v [2]int
		for k := range v {
			p.skipSpace()
			w := p.word()
			x, err := strconv.Atoi(string(w))
			if err != nil || x < 0 || len(w) > 10 {
				return nil, malformed("bad object stream header")
			}
			v[k] = x
			p.pos += len(w)
		}
		st.nums = append(st.nums, v[0])
		st.offs = append(st.offs, v[1])
	}
	return st, nil
}
