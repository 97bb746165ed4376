package signature

import (
	"fmt"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Rule: annotations (ISO 32000-2 §12.5, §12.8.2.2 P=3): which annotations
// may be added, removed or changed, and where added ones may lie.

// compareAnnots checks a page's annotation list: removing annotations or
// adding ones other than signature widgets needs P=3; an added
// annotation must not overlap an existing one.
func (a *modAnalyzer) compareAnnots(old, cur *graph, page pdf.Ref, name string, o, n pdf.Object) {
	oa, _ := o.(pdf.Array)
	na, _ := n.(pdf.Array)
	for _, x := range oa {
		if containsObj(na, x) || a.equalIn(na, x, old.rev, cur.rev) {
			continue
		}
		if a.level < permAnnotations {
			a.disallow("annotation removed from %s", name)
			continue
		}
		// Removing an annotation the signer saw changes what the signed
		// page shows, whatever P says.
		// A direct annotation has no identity across revisions: it was
		// signed when the list it leaves is the signed revision's.
		_, isRef := x.(pdf.Ref)
		if a.wasSigned(x) || (!isRef && old == a.signed) {
			if d, _ := a.resolve(x, old.rev).(pdf.Dict); d != nil && visible(d) {
				if r, ok := rectOf(a, d, old.rev); ok && r.area() > 0 {
					a.disallow("%s annotation %s removed from %s: it was shown when signed", subtypeOf(d), objName(x), name)
				}
			}
		}
	}
	for _, x := range na {
		if containsObj(oa, x) || a.equalIn(oa, x, cur.rev, old.rev) {
			continue
		}
		d, _ := a.resolve(x, cur.rev).(pdf.Dict)
		if d == nil {
			continue
		}
		sigWidget := a.isSigWidget(cur, x, d)
		if !sigWidget && a.level < permAnnotations {
			a.disallow("%s annotation added to %s", subtypeOf(d), name)
			continue
		}
		// An added annotation that is visible and overlaps what the signer
		// saw (an annotation that was there, or the text and images of the
		// page, located approximately) may hide or replace it.
		if rect, ok := rectOf(a, d, cur.rev); ok && rect.area() > 0 && visible(d) {
			hit := false
			for _, y := range oa {
				od, _ := a.resolve(y, old.rev).(pdf.Dict)
				if orc, ok := rectOf(a, od, old.rev); ok && rect.overlap(orc) > 0 {
					hit = true
					break
				}
			}
			if !hit && !sigWidget {
				for _, b := range a.contentBoxes(old, page) {
					if rect.overlap(b) > 0 {
						hit = true
						break
					}
				}
			}
			if hit {
				a.disallow("added annotation may overlay content at %s on %s", rect, name)
			}
		}
		if !sigWidget {
			a.note("%s annotation added to %s", subtypeOf(d), name)
		}
	}
}

func subtypeOf(d pdf.Dict) string {
	if s := d.Name("Subtype"); s != "" {
		return "/" + string(s)
	}
	return "an"
}

// isSigWidget reports whether d (reached as x) is the widget of a
// signature field.
func (a *modAnalyzer) isSigWidget(g *graph, x pdf.Object, d pdf.Dict) bool {
	if d.Name("Subtype") != "Widget" {
		return false
	}
	// Only a widget that belongs to the field tree counts: an orphan
	// widget claiming /FT /Sig is judged as any other annotation.
	ref := refOf(x)
	for range maxWalkDepth {
		if info, ok := g.fields[ref]; ok {
			return info.ft == "Sig"
		}
		p, ok := d["Parent"].(pdf.Ref)
		if !ok || p == ref {
			return false
		}
		ref = p
		if d, _ = a.resolve(p, g.rev).(pdf.Dict); d == nil {
			return false
		}
	}
	return false
}

func (a *modAnalyzer) compareAnnot(old, cur *graph, ref pdf.Ref, name string, o, n pdf.Object) {
	od, nd := dictOf(o), dictOf(n)
	if nd != nil && nd.Name("Subtype") == "Widget" {
		if may, _ := a.fieldMayChange(old, ref); may {
			for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
				if k != "AP" && k != "AS" && k != "MK" && !structureKey(string(k)) {
					a.disallow("%s /%s changed", name, k)
				}
			}
			return
		}
	}
	if !a.wasSigned(ref) {
		// Added after signing: under P=3 it may change like any
		// annotation added since.
		if a.level >= permAnnotations {
			a.note("%s changed", name)
		} else {
			a.disallow("%s changed", name)
		}
		return
	}
	// An annotation the signer saw: any change to what it shows changes
	// the signed page, even where P=3 permits annotating (the only
	// changes allowed to what a signed page shows are a form fill and a
	// new signature's own widget).
	if len(nd) == 0 {
		a.disallow("%s (object %d) emptied: it no longer shows what was signed", name, ref.Num)
		return
	}
	for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
		if annotKeyDrawsNothing(k) {
			continue
		}
		a.disallow("%s (object %d) /%s changed: that changes what the signed page shows", name, ref.Num, k)
	}
}

// annotKeyDrawsNothing reports whether a change of key k of an annotation
// leaves what it shows as it was: the modification date (/M), its name
// (/NM), its page (/P), its place in the structure tree (/StructParent),
// and whether its pop-up window is open (/Open, a viewer state).
func annotKeyDrawsNothing(k pdf.Name) bool {
	switch k {
	case "M", "NM", "P", "StructParent", "Open":
		return true
	}
	return false
}

// wasSigned reports whether the annotation (or appearance owner) x was in
// the signed revision: part of what the signer saw.
func (a *modAnalyzer) wasSigned(x pdf.Object) bool {
	r, ok := x.(pdf.Ref)
	return ok && a.signed != nil && a.signed.roles[r]&(roleAnnot|roleField) != 0
}

func objName(x pdf.Object) string {
	if r, ok := x.(pdf.Ref); ok {
		return fmt.Sprintf("(object %d)", r.Num)
	}
	return "(direct)"
}

// visible reports whether an annotation may be shown: not /Hidden or
// /NoView (ISO 32000-2 §12.5.3).
func visible(d pdf.Dict) bool {
	f, _ := d.Int("F")
	return f&(2|32) == 0
}

type rect [4]float64

func (r rect) String() string {
	return fmt.Sprintf("[%g %g %g %g]", r[0], r[1], r[2], r[3])
}

func (r rect) area() float64 { return (r[2] - r[0]) * (r[3] - r[1]) }

func (r rect) overlap(s rect) float64 {
	w := min(r[2], s[2]) - max(r[0], s[0])
	h := min(r[3], s[3]) - max(r[1], s[1])
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

func rectOf(a *modAnalyzer, d pdf.Dict, rev int) (rect, bool) {
	arr, _ := a.resolve(d["Rect"], rev).(pdf.Array)
	if len(arr) != 4 {
		return rect{}, false
	}
	var r rect
	for i, v := range arr {
		switch x := a.resolve(v, rev).(type) {
		case int64:
			r[i] = float64(x)
		case float64:
			r[i] = x
		default:
			return rect{}, false
		}
	}
	if r[0] > r[2] {
		r[0], r[2] = r[2], r[0]
	}
	if r[1] > r[3] {
		r[1], r[3] = r[3], r[1]
	}
	return r, true
}
