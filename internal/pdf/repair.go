package pdf

import (
	"cmp"
	"slices"
)

// reconstruct rebuilds the revisions from the byte scan when the
// cross-reference chain is unusable: each stretch of the file up to a
// %%EOF marker becomes a revision defining the objects whose headers it
// contains (the last header of a number wins), with the trailer found in
// it, or the dictionary of a cross-reference stream in it, or a synthetic
// trailer naming a /Type /Catalog object found in it.
func (f *File) reconstruct() error {
	sc, err := f.scan()
	if err != nil {
		return err
	}
	if len(sc.objs) == 0 {
		return malformed("no cross-reference data and no objects found")
	}
	f.revs = nil
	bounds := slices.Clone(sc.eofEnd)
	lastObj := sc.objs[len(sc.objs)-1].off
	if len(bounds) == 0 || bounds[len(bounds)-1] <= lastObj {
		bounds = append(bounds, f.size)
	}
	prevEnd := int64(0)
	for _, end := range bounds {
		f.segmentRevision(prevEnd, end)
		prevEnd = end
	}
	if len(f.revs) == 0 {
		return malformed("no usable objects found")
	}
	return nil
}

func cloneDict(d Dict) Dict {
	c := make(Dict, len(d)+1)
	for k, v := range d {
		c[k] = v
	}
	return c
}

// segmentRevision appends a revision made of the objects whose headers lie
// in [start, end), if there are any.
func (f *File) segmentRevision(start, end int64) {
	rev := &Revision{Index: len(f.revs), XrefOffset: -1, End: end, Entries: map[int]Entry{}}
	sc := f.scanRes // segmentRevision runs after scan()
	var refs []Ref
	lo, _ := slices.BinarySearchFunc(sc.objs, start, func(o scanObj, t int64) int { return cmp.Compare(o.off, t) })
	for _, o := range sc.objs[lo:] {
		if o.off >= end {
			break
		}
		if _, seen := rev.Entries[o.ref.Num]; !seen {
			refs = append(refs, o.ref)
		}
		rev.Entries[o.ref.Num] = Entry{Gen: o.ref.Gen, Offset: o.off}
	}
	var trailer Dict
	ti, _ := slices.BinarySearch(sc.trailers, start)
	for _, t := range sc.trailers[ti:] {
		if t >= end {
			break
		}
		_ = f.parseAt(t+7, f.opts.MaxStreamSize, func(p *parser) error {
			o, err := p.object(0)
			if d, ok := o.(Dict); ok && err == nil {
				trailer = d
			}
			return err
		})
	}
	if len(rev.Entries) == 0 && trailer == nil {
		return
	}
	f.revs = append(f.revs, rev)
	var catalog *Ref
	for _, r := range refs {
		o, err := f.readIndirect(rev.Entries[r.Num].Offset, &r, rev.Index, true)
		if err != nil {
			continue
		}
		var d Dict
		switch v := o.(type) {
		case Dict:
			d = v
		case *Stream:
			d = v.Dict
		}
		switch d.Name("Type") {
		case "XRef":
			if trailer == nil {
				trailer = d
			}
		case "Catalog":
			catalog = &r
		case "ObjStm":
			s, ok := o.(*Stream)
			if !ok {
				break
			}
			if st, err := f.decodeObjStm(s); err == nil {
				for i, n := range st.nums {
					if _, ok := rev.Entries[n]; !ok {
						rev.Entries[n] = Entry{Stream: r.Num, Index: i}
					}
				}
			}
		}
	}
	if trailer == nil {
		trailer = Dict{}
	}
	if _, ok := trailer["Root"]; !ok && catalog != nil {
		trailer = cloneDict(trailer)
		trailer["Root"] = *catalog
	}
	rev.Trailer = trailer
}
