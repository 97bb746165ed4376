package signature

import (
	"fmt"
	"slices"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// The walk: one revision's object graph as seen from the catalog, each
// object labelled with the places (roles) it is reachable from.

// role says where an object is reachable from.
type role uint32

const (
	roleCatalog      role = 1 << iota
	rolePageTree          // an intermediate /Pages node
	rolePage              // a /Page
	roleContent           // page contents, resources and anything else a page holds
	roleAnnotsArray       // an indirect /Annots array
	roleAnnot             // an annotation dictionary
	roleAnnotAP           // an annotation's appearance streams and data
	roleAcroForm          // the AcroForm dictionary
	roleAcroFormData      // other AcroForm entries (/CO, /XFA, ...)
	roleFieldsArray       // an indirect /Fields or /Kids array
	roleField             // a form field or widget in the field tree
	roleFieldAP           // a field widget's appearance and field data
	roleSigValue          // a signature value dictionary (/V of a signature field)
	roleDSS               // the document security store and everything in it
	roleHarmless          // /Extensions, /Metadata, /Perms, /DR, the trailer /Info
	roleNames             // the catalog /Names dictionary
	roleAnnotNames        // the /AP name tree: named annotation appearances
	roleStructure         // the logical structure tree (modrule_structtree.go)
	roleProducer          // producer bookkeeping keys that draw nothing (modrule_producer.go)
	roleOther             // anything else reachable from the catalog
)

var roleLabels = map[role]string{
	roleCatalog: "document catalog", rolePageTree: "page tree", rolePage: "page",
	roleContent: "page content or resources", roleAnnotsArray: "annotation array",
	roleAnnot: "annotation", roleAnnotAP: "annotation appearance", roleAcroForm: "AcroForm",
	roleAcroFormData: "AcroForm data", roleFieldsArray: "form field array", roleField: "form field",
	roleFieldAP: "form field appearance", roleSigValue: "signature dictionary", roleDSS: "DSS",
	roleHarmless: "document metadata", roleNames: "name dictionary",
	roleAnnotNames: "named annotation appearances", roleStructure: "structure tree",
	roleProducer: "producer data", roleOther: "catalog data",
}

type fieldInfo struct {
	name string
	ft   pdf.Name
}

// graph is one revision's object graph as seen from the catalog.
type graph struct {
	rev      int
	roles    map[pdf.Ref]role
	owners   map[pdf.Ref][]pdf.Ref // for appearance/data roles: the annotation or field owning it
	paths    map[pdf.Ref]string    // first path by which the object was reached, for reasons
	rolePath map[refRole]string    // first path for each role
	dangling map[pdf.Ref]role      // references to free or missing objects
	fields   map[pdf.Ref]fieldInfo
	pages    []pdf.Ref
	root     pdf.Ref
	budget   int
}

func (a *modAnalyzer) walk(rev int) *graph {
	g := &graph{
		rev: rev, roles: map[pdf.Ref]role{}, owners: map[pdf.Ref][]pdf.Ref{},
		paths: map[pdf.Ref]string{}, rolePath: map[refRole]string{}, dangling: map[pdf.Ref]role{}, fields: map[pdf.Ref]fieldInfo{},
		budget: maxWalkNodes,
	}
	tr := a.f.Trailer(rev)
	if r, ok := tr["Root"].(pdf.Ref); ok {
		g.root = r
	} else {
		for i := rev; i >= 0; i-- {
			if r, ok := a.f.Trailer(i)["Root"].(pdf.Ref); ok {
				g.root = r
				break
			}
		}
	}
	a.walkGeneric(g, tr["Info"], roleHarmless, pdf.Ref{}, "trailer /Info", 0)
	cat, ok := a.mark(g, g.root, roleCatalog, pdf.Ref{}, "catalog")
	if !ok {
		return g
	}
	catD, _ := cat.(pdf.Dict)
	for _, k := range sortedKeys(catD) {
		v := catD[k]
		path := "catalog /" + string(k)
		switch k {
		case "Pages":
			a.walkPageTree(g, v, path, 0, map[pdf.Ref]bool{})
		case "AcroForm":
			a.walkAcroForm(g, v)
		case "DSS":
			a.walkGeneric(g, v, roleDSS, pdf.Ref{}, path, 0)
		case "Extensions", "Metadata", "Perms":
			a.walkGeneric(g, v, roleHarmless, pdf.Ref{}, path, 0)
		case "Names":
			obj, fresh := a.mark(g, v, roleNames, pdf.Ref{}, path)
			if nd, _ := obj.(pdf.Dict); fresh && nd != nil {
				for _, nk := range sortedKeys(nd) {
					r := roleOther
					if nk == "AP" {
						r = roleAnnotNames
					}
					a.walkGeneric(g, nd[nk], r, pdf.Ref{}, path+" /"+string(nk), 0)
				}
			}
		case "StructTreeRoot", "MarkInfo", "Lang":
			a.walkGeneric(g, v, roleStructure, pdf.Ref{}, path, 0)
		default:
			r := roleOther
			if drawsNothing(catalogKeys, string(k)) {
				r = roleProducer
			}
			a.walkGeneric(g, v, r, pdf.Ref{}, path, 0)
		}
	}
	return g
}

func sortedKeys(d pdf.Dict) []pdf.Name {
	keys := make([]pdf.Name, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mark records role r for o when o is a reference and returns o resolved.
// ok is false when the object was already visited with that role (or the
// walk budget is spent), so the caller does not descend again.
func (a *modAnalyzer) mark(g *graph, o pdf.Object, r role, owner pdf.Ref, path string) (pdf.Object, bool) {
	if g.budget--; g.budget < 0 {
		return nil, false
	}
	ref, isRef := o.(pdf.Ref)
	if !isRef {
		return o, o != nil
	}
	obj, err := a.f.Object(ref, g.rev)
	if err != nil || obj == nil {
		g.dangling[ref] |= r
		return nil, false
	}
	if owner != (pdf.Ref{}) && !slices.Contains(g.owners[ref], owner) && len(g.owners[ref]) < 64 {
		g.owners[ref] = append(g.owners[ref], owner)
	}
	if g.roles[ref]&r != 0 {
		return obj, false
	}
	if g.roles[ref] == 0 {
		g.paths[ref] = path
	}
	g.rolePath[refRole{ref, r}] = path
	g.roles[ref] |= r
	return obj, true
}

func dictOf(o pdf.Object) pdf.Dict {
	switch v := o.(type) {
	case pdf.Dict:
		return v
	case *pdf.Stream:
		return v.Dict
	}
	return nil
}

// structural reports whether d is a dictionary that the walk reaches
// through its own path (pages, annotations, signatures, the catalog), so
// that a link to it from elsewhere (a destination, a /P entry) does not
// give it another role.
func structural(d pdf.Dict) bool {
	switch d.Name("Type") {
	case "Page", "Pages", "Catalog", "Sig", "DocTimeStamp", "Annot":
		return true
	}
	if _, ok := d["Subtype"]; ok {
		if _, ok := d["Rect"]; ok {
			return true // an annotation without /Type
		}
	}
	if _, ok := d["FT"]; ok {
		return true // a form field
	}
	if _, ok := d["ByteRange"]; ok {
		return true
	}
	return false
}

// walkGeneric marks everything reachable from o with role r, not
// following back links (/Parent, /P) nor into structural objects.
func (a *modAnalyzer) walkGeneric(g *graph, o pdf.Object, r role, owner pdf.Ref, path string, depth int) {
	if depth > maxWalkDepth || o == nil {
		return
	}
	if ref, ok := o.(pdf.Ref); ok {
		if g.roles[ref]&r != 0 {
			if owner != (pdf.Ref{}) && !slices.Contains(g.owners[ref], owner) && len(g.owners[ref]) < 64 {
				g.owners[ref] = append(g.owners[ref], owner)
			}
			return
		}
		obj, err := a.f.Object(ref, g.rev)
		if err == nil && obj != nil && structural(dictOf(obj)) {
			return
		}
		var fresh bool
		if o, fresh = a.mark(g, ref, r, owner, path); !fresh {
			return
		}
	}
	switch v := o.(type) {
	case pdf.Array:
		for _, e := range v {
			a.walkGeneric(g, e, r, owner, path, depth+1)
		}
	case pdf.Dict, *pdf.Stream:
		d := dictOf(v)
		if depth > 0 && structural(d) {
			return
		}
		for _, k := range sortedKeys(d) {
			if k == "Parent" || k == "P" {
				continue
			}
			a.walkGeneric(g, d[k], r, owner, path, depth+1)
		}
	}
}

func (a *modAnalyzer) walkPageTree(g *graph, o pdf.Object, path string, depth int, seen map[pdf.Ref]bool) {
	if depth > maxWalkDepth {
		return
	}
	if ref, ok := o.(pdf.Ref); ok {
		if seen[ref] {
			return
		}
		seen[ref] = true
	}
	obj, err := a.f.Resolve(o, g.rev)
	d, _ := obj.(pdf.Dict)
	if err != nil || d == nil {
		if ref, ok := o.(pdf.Ref); ok {
			g.dangling[ref] |= rolePageTree
		}
		return
	}
	kids, hasKids := d["Kids"]
	if d.Name("Type") == "Pages" || (d.Name("Type") != "Page" && hasKids) {
		a.mark(g, o, rolePageTree, pdf.Ref{}, path)
		for _, k := range sortedKeys(d) {
			switch k {
			case "Parent":
			case "Kids":
				kv, _ := a.f.Resolve(kids, g.rev)
				if kr, ok := kids.(pdf.Ref); ok {
					a.mark(g, kr, rolePageTree, pdf.Ref{}, path+" /Kids")
				}
				arr, _ := kv.(pdf.Array)
				for _, kid := range arr {
					a.walkPageTree(g, kid, path, depth+1, seen)
				}
			default:
				r := roleContent
				if drawsNothing(pageTreeKeys, string(k)) {
					r = roleProducer
				}
				a.walkGeneric(g, d[k], r, pdf.Ref{}, path+" /"+string(k), 0)
			}
		}
		return
	}
	ref, _ := o.(pdf.Ref)
	g.pages = append(g.pages, ref)
	page := fmt.Sprintf("page %d", len(g.pages))
	a.mark(g, o, rolePage, pdf.Ref{}, page)
	for _, k := range sortedKeys(d) {
		switch k {
		case "Parent":
		case "Annots":
			a.walkAnnots(g, d[k], ref, page)
		default:
			r := roleContent
			if drawsNothing(pageKeys, string(k)) {
				r = roleProducer
			}
			a.walkGeneric(g, d[k], r, pdf.Ref{}, page+" /"+string(k), 0)
		}
	}
}

func (a *modAnalyzer) walkAnnots(g *graph, o pdf.Object, page pdf.Ref, path string) {
	if r, ok := o.(pdf.Ref); ok {
		a.mark(g, r, roleAnnotsArray, page, path+" /Annots")
	}
	arr, _ := a.resolve(o, g.rev).(pdf.Array)
	for i, an := range arr {
		a.walkAnnot(g, an, fmt.Sprintf("%s annotation %d", path, i+1))
	}
}

func (a *modAnalyzer) walkAnnot(g *graph, o pdf.Object, path string) {
	ref, _ := o.(pdf.Ref)
	obj, fresh := a.mark(g, o, roleAnnot, pdf.Ref{}, path)
	d, _ := obj.(pdf.Dict)
	if !fresh || d == nil {
		return
	}
	for _, k := range sortedKeys(d) {
		switch k {
		case "P", "Popup", "Kids":
		case "V":
			// A widget that is its own field but is missing from the
			// AcroForm (some signers write only the page's /Annots): its
			// value is still what a viewer shows, a signature dictionary
			// above all.
			if _, seen := g.fields[ref]; !seen {
				if a.widgetFT(d, g.rev) == "Sig" {
					a.mark(g, d[k], roleSigValue, ref, path+" /V")
				} else {
					a.walkGeneric(g, d[k], roleFieldAP, ref, path+" /V", 0)
				}
			}
		case "Parent":
			// Likewise the field a widget belongs to.
			if p, ok := d[k].(pdf.Ref); ok {
				if _, seen := g.fields[p]; !seen {
					a.walkField(g, p, "", "", 1)
				}
			}
		default:
			a.walkGeneric(g, d[k], roleAnnotAP, ref, path+" /"+string(k), 0)
		}
	}
}

func (a *modAnalyzer) walkAcroForm(g *graph, o pdf.Object) {
	obj, fresh := a.mark(g, o, roleAcroForm, pdf.Ref{}, "AcroForm")
	d, _ := obj.(pdf.Dict)
	if !fresh || d == nil {
		return
	}
	for _, k := range sortedKeys(d) {
		switch k {
		case "Fields":
			a.walkFieldList(g, d[k], "", "", "AcroForm /Fields", 0)
		case "DR", "DA", "SigFlags", "NeedAppearances":
			a.walkGeneric(g, d[k], roleHarmless, pdf.Ref{}, "AcroForm /"+string(k), 0)
		default:
			a.walkGeneric(g, d[k], roleAcroFormData, pdf.Ref{}, "AcroForm /"+string(k), 0)
		}
	}
}

func (a *modAnalyzer) walkFieldList(g *graph, o pdf.Object, parent string, ft pdf.Name, path string, depth int) {
	if depth > maxWalkDepth {
		return
	}
	if r, ok := o.(pdf.Ref); ok {
		if _, fresh := a.mark(g, r, roleFieldsArray, pdf.Ref{}, path); !fresh {
			return
		}
	}
	arr, _ := a.resolve(o, g.rev).(pdf.Array)
	for _, kid := range arr {
		a.walkField(g, kid, parent, ft, depth+1)
	}
}

func (a *modAnalyzer) walkField(g *graph, o pdf.Object, parent string, ft pdf.Name, depth int) {
	ref, _ := o.(pdf.Ref)
	d, _ := a.resolve(o, g.rev).(pdf.Dict)
	if d == nil {
		if ref != (pdf.Ref{}) {
			g.dangling[ref] |= roleField
		}
		return
	}
	name := parent
	if t, ok := d["T"].(pdf.String); ok {
		if name != "" {
			name += "."
		}
		name += decodeText(t)
	}
	if v := d.Name("FT"); v != "" {
		ft = v
	}
	if ref != (pdf.Ref{}) {
		g.fields[ref] = fieldInfo{name: name, ft: ft}
	}
	path := fmt.Sprintf("field %q", name)
	if _, fresh := a.mark(g, o, roleField, pdf.Ref{}, path); !fresh && ref != (pdf.Ref{}) {
		return
	}
	for _, k := range sortedKeys(d) {
		switch k {
		case "Parent", "P":
		case "Kids":
			a.walkFieldList(g, d[k], name, ft, path+" /Kids", depth)
		case "V":
			if ft == "Sig" {
				a.mark(g, d[k], roleSigValue, ref, path+" /V")
			} else {
				a.walkGeneric(g, d[k], roleFieldAP, ref, path+" /V", 0)
			}
		default:
			a.walkGeneric(g, d[k], roleFieldAP, ref, path+" /"+string(k), 0)
		}
	}
}

func (a *modAnalyzer) resolve(o pdf.Object, rev int) pdf.Object {
	v, err := a.f.Resolve(o, rev)
	if err != nil {
		return nil
	}
	return v
}

type refRole struct {
	ref pdf.Ref
	r   role
}
