package signature

import (
	"fmt"
	"strings"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Rule: form filling and signing (ISO 32000-2 §12.7, §12.8.2.2 P=2):
// the AcroForm, field lists and fields; a field may change its value and
// the appearance that shows it, and a signature field may be signed once.

// widgetFT returns the field type of a widget, inherited through /Parent
// (ISO 32000-2 §12.7.4.1).
func (a *modAnalyzer) widgetFT(d pdf.Dict, rev int) pdf.Name {
	for depth := 0; d != nil && depth < maxWalkDepth; depth++ {
		if ft := d.Name("FT"); ft != "" {
			return ft
		}
		d, _ = a.resolve(d["Parent"], rev).(pdf.Dict)
	}
	return ""
}

func (a *modAnalyzer) compareAcroForm(old, cur *graph, o, n pdf.Object) {
	od, nd := dictOf(o), dictOf(n)
	if nd == nil {
		if od != nil {
			a.disallow("AcroForm removed")
		}
		return
	}
	for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
		switch k {
		case "SigFlags", "NeedAppearances", "DR", "DA":
		case "Fields":
			a.compareFields(old, cur, "AcroForm /Fields", a.resolve(od[k], old.rev), a.resolve(nd[k], cur.rev))
		default:
			a.disallow("AcroForm /%s changed", k)
		}
	}
}

// compareFields checks a field list (/Fields or /Kids): existing entries
// must stay; new entries must be signature fields.
func (a *modAnalyzer) compareFields(old, cur *graph, name string, o, n pdf.Object) {
	oa, _ := o.(pdf.Array)
	na, _ := n.(pdf.Array)
	for _, x := range oa {
		if !containsObj(na, x) {
			a.disallow("form field %s removed from %s", a.fieldName(old, x), name)
		}
	}
	for _, x := range na {
		if containsObj(oa, x) {
			continue
		}
		d, _ := a.resolve(x, cur.rev).(pdf.Dict)
		info, ok := cur.fields[refOf(x)]
		if !ok && d != nil {
			info.ft = d.Name("FT")
		}
		if d == nil || info.ft != "Sig" {
			a.disallow("non-signature form field %s added", a.fieldName(cur, x))
			continue
		}
		if a.level == permNone {
			if v, _ := a.resolve(d["V"], cur.rev).(pdf.Dict); v == nil || !isDocTimestamp(v) {
				a.disallow("signature field %q added although the certification signature permits no changes", info.name)
				continue
			}
		}
		a.note("signature field %q added", info.name)
	}
}

func (a *modAnalyzer) fieldName(g *graph, o pdf.Object) string {
	if info, ok := g.fields[refOf(o)]; ok && info.name != "" {
		return fmt.Sprintf("%q", info.name)
	}
	if r, ok := o.(pdf.Ref); ok {
		return fmt.Sprintf("object %d", r.Num)
	}
	return "(direct)"
}

// fieldMayChange reports whether the field's value and appearance may
// change in the revision being judged: an unsigned signature field may be
// signed; other fields may be filled under P >= 2 unless locked.
func (a *modAnalyzer) fieldMayChange(old *graph, ref pdf.Ref) (bool, string) {
	info, ok := old.fields[ref]
	if !ok {
		return false, ""
	}
	if info.ft == "Sig" {
		d, _ := a.resolve(ref, old.rev).(pdf.Dict)
		if d != nil {
			if v, _ := a.resolve(d["V"], old.rev).(pdf.Dict); v == nil {
				return true, info.name
			}
		}
		// A widget kid without /V of its own: look at the parent field.
		if d != nil && d["V"] == nil {
			if p, ok := d["Parent"].(pdf.Ref); ok && p != ref {
				if pd, _ := a.resolve(p, old.rev).(pdf.Dict); pd != nil {
					if v, _ := a.resolve(pd["V"], old.rev).(pdf.Dict); v == nil {
						return true, info.name
					}
				}
			}
		}
		return false, info.name
	}
	if a.level < permForms || a.mdp.Lock.locks(info.name) {
		return false, info.name
	}
	return true, info.name
}

// judgeOwned judges a changed appearance stream or data object by the
// annotations or fields that own it: all of them must permit the change.
func (a *modAnalyzer) judgeOwned(old, cur *graph, ref pdf.Ref, name, what string) {
	owners := old.owners[ref]
	if len(owners) == 0 {
		owners = cur.owners[ref]
	}
	if len(owners) == 0 {
		a.disallow("%s changed (object %d)", name, ref.Num)
		return
	}
	for _, o := range owners {
		if old.roles[o]&roleField != 0 {
			ok, fname := a.fieldMayChange(old, o)
			switch {
			case !ok:
				a.disallow("%s of form field %q changed (object %d)", what, fname, ref.Num)
			case old.fields[o].ft != "Sig" && !a.valueChanged(old, cur, o):
				a.disallow("%s of form field %q changed (object %d) while its value did not: the appearance no longer shows the value", what, fname, ref.Num)
			}
			continue
		}
		switch {
		case a.wasSigned(o):
			a.disallow("%s of annotation %d changed (object %d): that changes what the signed page shows", what, o.Num, ref.Num)
		case a.level < permAnnotations:
			a.disallow("%s of annotation %d changed (object %d)", what, o.Num, ref.Num)
		}
	}
}

func (a *modAnalyzer) compareField(old, cur *graph, ref pdf.Ref, o, n pdf.Object) {
	od, nd := dictOf(o), dictOf(n)
	info := old.fields[ref]
	if nd == nil {
		a.disallow("form field %q removed", info.name)
		return
	}
	may, _ := a.fieldMayChange(old, ref)
	for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
		if structureKey(string(k)) || a.judgeLock(info, k, od[k], old.rev, nd[k], cur.rev) {
			continue
		}
		switch k {
		case "V":
			if info.ft == "Sig" {
				if !may {
					if ref == a.sigField {
						a.disallow("value of this signature's own field %q changed", info.name)
					} else {
						a.disallow("value of signed signature field %q changed", info.name)
					}
					continue
				}
				v, _ := a.resolve(nd[k], cur.rev).(pdf.Dict)
				if v == nil || v["ByteRange"] == nil {
					a.disallow("signature field %q given a value that is not a signature", info.name)
					continue
				}
				if a.level == permNone && !isDocTimestamp(v) {
					a.disallow("signature field %q signed although the certification signature permits no changes", info.name)
					continue
				}
				a.note("signature field %q signed", info.name)
				continue
			}
			if !may {
				a.disallow("form field %q filled in although the signature does not permit it", info.name)
			} else {
				a.note("form field %q filled in", info.name)
			}
		case "AP", "AS", "MK", "I", "RV", "F", "DA", "SV":
			if !may {
				a.disallow("form field %q /%s changed", info.name, k)
				continue
			}
			if info.ft != "Sig" {
				// A form fill changes the value and the appearance that
				// shows it (with the default appearance string it is
				// drawn from, /DA), nothing more: not the widget's flags
				// (/F: hidden, no view), border and colours (/MK), and
				// not an appearance while the value stays.
				switch k {
				case "MK", "F", "SV":
					a.disallow("form field %q /%s changed: a form fill may change only the value and the appearance showing it", info.name, k)
					continue
				case "AP", "AS":
					if !a.valueChanged(old, cur, ref) {
						a.disallow("form field %q /%s changed while its value did not: the appearance no longer shows the value", info.name, k)
						continue
					}
				}
			}
			if k == "AP" {
				a.checkSharedAppearance(old, od[k], info.name)
			}
		case "Kids":
			a.compareFields(old, cur, fmt.Sprintf("field %q /Kids", info.name), a.resolve(od[k], old.rev), a.resolve(nd[k], cur.rev))
		default:
			a.disallow("form field %q /%s changed", info.name, k)
		}
	}
}

// checkSharedAppearance refuses replacing a field's appearance when the
// old appearance objects are also reachable from elsewhere (page content,
// other catalog entries): such an update may be disguising a change to
// what the document shows, and pyHanko treats it as suspicious too.
func (a *modAnalyzer) checkSharedAppearance(old *graph, ap pdf.Object, field string) {
	const own = roleFieldAP | roleAnnotAP
	var visit func(o pdf.Object, depth int)
	visit = func(o pdf.Object, depth int) {
		if depth > 3 {
			return
		}
		if r, ok := o.(pdf.Ref); ok {
			if other := old.roles[r] &^ own; other != 0 {
				var where []string
				for bit := role(1); bit <= roleOther; bit <<= 1 {
					if other&bit != 0 {
						where = append(where, old.rolePath[refRole{r, bit}])
					}
				}
				a.disallow("appearance of form field %q was also used as %s (%s)", field, roleList(other), strings.Join(where, ", "))
				return
			}
		}
		if d, ok := a.resolve(o, old.rev).(pdf.Dict); ok {
			for _, k := range sortedKeys(d) {
				visit(d[k], depth+1)
			}
		}
	}
	visit(ap, 0)
}

// valueChanged reports whether the value of the field that ref is (or
// whose widget ref is) differs between old and cur: /V, inherited through
// /Parent (ISO 32000-2 §12.7.4.1), or /AS, which selects the appearance
// of a check box or radio button state.
func (a *modAnalyzer) valueChanged(old, cur *graph, ref pdf.Ref) bool {
	od, _ := a.resolve(ref, old.rev).(pdf.Dict)
	nd, _ := a.resolve(ref, cur.rev).(pdf.Dict)
	if od == nil || nd == nil {
		return true
	}
	if !a.equal(od["AS"], old.rev, nd["AS"], cur.rev, 0) {
		return true
	}
	for depth := 0; depth < maxWalkDepth && od != nil && nd != nil; depth++ {
		_, hasOld := od["V"]
		_, hasNew := nd["V"]
		if hasOld || hasNew {
			return !a.equal(a.resolve(od["V"], old.rev), old.rev, a.resolve(nd["V"], cur.rev), cur.rev, 0)
		}
		od, _ = a.resolve(od["Parent"], old.rev).(pdf.Dict)
		nd, _ = a.resolve(nd["Parent"], cur.rev).(pdf.Dict)
	}
	return false
}
