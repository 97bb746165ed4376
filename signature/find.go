package signature

import (
	"fmt"
	"strings"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Limits on the form walk, so that a hostile field tree cannot make
// discovery loop or explode.
const (
	maxFieldDepth = 32
	maxFields     = 10000
)

// findSignatures walks the AcroForm field tree of every revision (ISO
// 32000-2 §12.7.3, §12.8) and returns one entry for every signature field
// with a value, oldest revision first. A signature field removed from the
// form in a later revision is still found in the revision that had it.
func (v *validator) findSignatures() []*entry {
	var out []*entry
	seen := map[string]bool{}
	revs := v.f.Revisions()
	for i := len(revs) - 1; i >= 0; i-- {
		if v.f.Unchanged(i) {
			continue // the same graph as revision i-1, walked next
		}
		cat, err := v.f.Catalog(i)
		if err != nil || cat == nil {
			continue
		}
		form, _ := v.resolveDict(cat["AcroForm"], i)
		if form == nil {
			continue
		}
		fields, _ := v.f.Resolve(form["Fields"], i)
		arr, _ := fields.(pdf.Array)
		budget := maxFields
		for _, fo := range arr {
			v.walkField(fo, i, "", "", 0, &budget, seen, &out)
		}
	}
	// Signature widgets on pages that the form does not list (some
	// signers, poppler's pdfsig among them, forget /Fields): still
	// signatures, and viewers show them.
	for i := len(revs) - 1; i >= 0; i-- {
		if v.f.Unchanged(i) {
			continue // the same graph as revision i-1, walked next
		}
		cat, err := v.f.Catalog(i)
		if err != nil || cat == nil {
			continue
		}
		budget := maxFields
		v.walkPages(cat["Pages"], i, 0, &budget, func(annot pdf.Object) {
			d, _ := v.resolveDict(annot, i)
			if d == nil || d.Name("Subtype") != "Widget" {
				return
			}
			// The value may sit on the widget (merged field) or on a
			// parent field.
			obj := annot
			for depth := 0; d != nil && d["V"] == nil && d["Parent"] != nil && depth < maxFieldDepth; depth++ {
				obj = d["Parent"]
				d, _ = v.resolveDict(obj, i)
			}
			if d == nil || d["V"] == nil {
				return
			}
			name, ft := v.inherited(d, i)
			if ft != "Sig" {
				return
			}
			v.walkField(obj, i, name, ft, maxFieldDepth, &budget, seen, &out)
		})
	}
	// The revision that defined each signature dictionary.
	for _, e := range out {
		if _, rev, ok := v.f.EntryFor(e.ref, len(revs)-1); ok && !e.direct {
			e.defRev = rev
		}
	}
	return out
}

func (v *validator) walkField(o pdf.Object, rev int, parentName string, inheritedFT pdf.Name, depth int, budget *int, seen map[string]bool, out *[]*entry) {
	if depth > maxFieldDepth || *budget <= 0 {
		return
	}
	*budget--
	ref, _ := o.(pdf.Ref)
	d, _ := v.resolveDict(o, rev)
	if d == nil {
		return
	}
	name := parentName
	if depth == maxFieldDepth {
		// A widget found on a page: parentName is its full name already.
	} else if t, ok := d["T"].(pdf.String); ok {
		if name != "" {
			name += "."
		}
		name += decodeText(t)
	}
	ft := inheritedFT
	if n := d.Name("FT"); n != "" {
		ft = n
	}
	if kids, _ := v.f.Resolve(d["Kids"], rev); kids != nil && depth < maxFieldDepth {
		if arr, ok := kids.(pdf.Array); ok && len(arr) > 0 {
			for _, k := range arr {
				v.walkField(k, rev, name, ft, depth+1, budget, seen, out)
			}
		}
	}
	if ft != "Sig" {
		return
	}
	val := d["V"]
	if val == nil {
		return
	}
	e := &entry{field: name, fieldRef: ref, defRev: rev, signedRev: -1}
	switch sv := val.(type) {
	case pdf.Ref:
		e.ref = sv
		sd, _ := v.resolveDict(sv, rev)
		if sd == nil {
			return
		}
		e.dict = sd
	case pdf.Dict:
		e.direct = true
		e.dict = sv
	default:
		return
	}
	key := e.key(rev)
	if seen[key] {
		return
	}
	seen[key] = true
	*out = append(*out, e)
}

// key identifies a signature dictionary across revisions.
func (e *entry) key(rev int) string {
	if !e.direct {
		return e.ref.String()
	}
	return fmt.Sprintf("direct %v %v", e.fieldRef, e.dict["ByteRange"])
}

func (v *validator) resolveDict(o pdf.Object, rev int) (pdf.Dict, error) {
	r, err := v.f.Resolve(o, rev)
	if err != nil {
		return nil, err
	}
	switch d := r.(type) {
	case pdf.Dict:
		return d, nil
	case *pdf.Stream:
		return d.Dict, nil
	}
	return nil, nil
}

// decodeText decodes a PDF text string (§7.9.2.2): UTF-16BE with a BOM, or
// UTF-8 with a BOM, else PDFDocEncoding (approximated by Latin-1, which
// agrees on every printable ASCII byte).
func decodeText(s pdf.String) string {
	b := []byte(s)
	if len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF {
		var sb strings.Builder
		for i := 2; i+1 < len(b); i += 2 {
			r := rune(b[i])<<8 | rune(b[i+1])
			if r >= 0xD800 && r < 0xDC00 && i+3 < len(b) {
				r2 := rune(b[i+2])<<8 | rune(b[i+3])
				if r2 >= 0xDC00 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					i += 2
				}
			}
			sb.WriteRune(r)
		}
		return sb.String()
	}
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return string(b[3:])
	}
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

// walkPages calls fn for every annotation of every page in the page tree.
func (v *validator) walkPages(o pdf.Object, rev, depth int, budget *int, fn func(pdf.Object)) {
	if depth > maxFieldDepth || *budget <= 0 {
		return
	}
	*budget--
	d, _ := v.resolveDict(o, rev)
	if d == nil {
		return
	}
	if kids, _ := v.f.Resolve(d["Kids"], rev); kids != nil {
		if arr, ok := kids.(pdf.Array); ok {
			for _, k := range arr {
				v.walkPages(k, rev, depth+1, budget, fn)
			}
		}
	}
	annots, _ := v.f.Resolve(d["Annots"], rev)
	arr, _ := annots.(pdf.Array)
	for _, a := range arr {
		if *budget <= 0 {
			return
		}
		*budget--
		fn(a)
	}
}

// inherited returns the fully qualified field name of a widget or field and
// its field type, following /Parent (ISO 32000-2 §12.7.4.2).
func (v *validator) inherited(d pdf.Dict, rev int) (string, pdf.Name) {
	var parts []string
	var ft pdf.Name
	for depth := 0; d != nil && depth < maxFieldDepth; depth++ {
		if t, ok := d["T"].(pdf.String); ok {
			parts = append([]string{decodeText(t)}, parts...)
		}
		if ft == "" {
			ft = d.Name("FT")
		}
		d, _ = v.resolveDict(d["Parent"], rev)
	}
	return strings.Join(parts, "."), ft
}
