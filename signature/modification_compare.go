package signature

import (
	"bytes"
	"io"
	"slices"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Structural comparison of objects across revisions.

// sameBytes reports whether two direct objects are written with the same
// bytes after their "N G obj" headers.
func (a *modAnalyzer) sameBytes(oldRef pdf.Ref, orev int, newRef pdf.Ref, nrev int) bool {
	os, oe, err1 := a.f.ObjectSpan(oldRef, orev)
	ns, ne, err2 := a.f.ObjectSpan(newRef, nrev)
	if err1 != nil || err2 != nil {
		return false
	}
	if oe-os != ne-ns || oe-os > maxCompareBytes {
		return false
	}
	ob, nb := make([]byte, oe-os), make([]byte, ne-ns)
	if _, err := a.f.ReadAt(ob, os); err != nil {
		return false
	}
	if _, err := a.f.ReadAt(nb, ns); err != nil {
		return false
	}
	// Skip the headers, which may differ only in spacing.
	oi, ni := bytes.Index(ob, []byte("obj")), bytes.Index(nb, []byte("obj"))
	return oi >= 0 && ni >= 0 && bytes.Equal(bytes.TrimSpace(ob[oi+3:]), bytes.TrimSpace(nb[ni+3:]))
}

// maxCompareBytes bounds the objects sameBytes reads.
const maxCompareBytes = 1 << 20

// changedKeys returns the keys whose values differ between o and n.
func (a *modAnalyzer) changedKeys(o pdf.Dict, orev int, n pdf.Dict, nrev int) []pdf.Name {
	var keys []pdf.Name
	for k, v := range o {
		if !a.equal(v, orev, n[k], nrev, 0) {
			keys = append(keys, k)
		}
	}
	for k := range n {
		if _, ok := o[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func refOf(o pdf.Object) pdf.Ref {
	r, _ := o.(pdf.Ref)
	return r
}

func containsObj(arr pdf.Array, x pdf.Object) bool {
	if r, ok := x.(pdf.Ref); ok {
		for _, y := range arr {
			if y == r {
				return true
			}
		}
		return false
	}
	return false // a direct entry never matches: it is new by definition
}

func (a *modAnalyzer) equalIn(arr pdf.Array, x pdf.Object, xrev, arev int) bool {
	if _, ok := x.(pdf.Ref); ok {
		return false
	}
	for _, y := range arr {
		if _, ok := y.(pdf.Ref); !ok && a.equal(x, xrev, y, arev, 0) {
			return true
		}
	}
	return false
}

// equal compares two objects structurally, o as of revision orev and n as
// of nrev. References compare by identity, except that a reference is
// never equal to a different object; streams compare their dictionaries
// and raw data.
func (a *modAnalyzer) equal(o pdf.Object, orev int, n pdf.Object, nrev int, depth int) bool {
	if depth > maxWalkDepth {
		return false
	}
	switch x := o.(type) {
	case nil:
		return n == nil
	case bool, int64, pdf.Name, pdf.Ref:
		return o == n
	case float64:
		switch y := n.(type) {
		case float64:
			return x == y
		case int64:
			return x == float64(y)
		}
		return false
	case pdf.String:
		y, ok := n.(pdf.String)
		return ok && bytes.Equal(x, y)
	case pdf.Array:
		y, ok := n.(pdf.Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !a.equal(x[i], orev, y[i], nrev, depth+1) {
				return false
			}
		}
		return true
	case pdf.Dict:
		y, ok := n.(pdf.Dict)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !a.equal(v, orev, y[k], nrev, depth+1) {
				return false
			}
		}
		return true
	case *pdf.Stream:
		y, ok := n.(*pdf.Stream)
		if !ok || !a.equal(x.Dict, orev, y.Dict, nrev, depth+1) || x.Length != y.Length {
			return false
		}
		if x.Offset == y.Offset {
			return true
		}
		return a.sameData(x, y)
	}
	return false
}

func (a *modAnalyzer) sameData(x, y *pdf.Stream) bool {
	if x.Length > maxCompareData {
		return false
	}
	rx, err1 := a.f.StreamReader(x, false)
	ry, err2 := a.f.StreamReader(y, false)
	if err1 != nil || err2 != nil {
		return false
	}
	bx, err1 := io.ReadAll(rx)
	by, err2 := io.ReadAll(ry)
	return err1 == nil && err2 == nil && bytes.Equal(bx, by)
}
