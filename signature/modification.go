package signature

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// MDP is the modification detection and prevention policy that applies to
// one signature: its DocMDP transform (ISO 32000-2 §12.8.2.2) and FieldMDP
// lock (§12.8.2.4).
type MDP struct {
	// Certification is true for a certification (author) signature, i.e.
	// one with a DocMDP transform.
	Certification bool
	// P is the DocMDP permission: 1 no changes, 2 form filling and
	// signing, 3 also annotations. 0 means not set; an approval signature
	// without DocMDP then allows what P=3 allows, as pyHanko does.
	P int
	// Lock is the FieldMDP lock, nil when there is none.
	Lock *FieldLock
}

// FieldLock names the form fields a signature locks (§12.7.5.5, /Lock and
// the FieldMDP transform parameters of §12.8.2.4).
type FieldLock struct {
	// Action is "All", "Include" or "Exclude".
	Action string
	// Fields holds fully qualified field names.
	Fields []string
}

// locks reports whether the lock covers the field with the given fully
// qualified name.
func (l *FieldLock) locks(name string) bool {
	if l == nil {
		return false
	}
	switch l.Action {
	case "All":
		return true
	case "Include":
		return slices.Contains(l.Fields, name)
	case "Exclude":
		return !slices.Contains(l.Fields, name)
	}
	return false
}

// Permission levels, following DocMDP P (ISO 32000-2 Table 257).
const (
	permNone        = 1 // only DSS and document timestamps (PAdES LTV)
	permForms       = 2 // also form filling and signing
	permAnnotations = 3 // also annotations
)

// Analysis bounds, so that a hostile object graph cannot make the walk
// unbounded.
const (
	maxWalkNodes   = 200000
	maxWalkDepth   = 64
	maxModReasons  = 20
	maxCompareData = 64 << 20
	// Bounds for locating page content (contentBoxes).
	maxContentBytes = 16 << 20
	maxContentOps   = 500000
	maxContentBoxes = 20000
	maxFormDepth    = 4
)

// analyzeModifications reports what the revisions after signedRev (the
// index of the revision whose End equals the end of the signature's byte
// range) changed, judged against ISO 32000-2 §12.8.2.2 (DocMDP),
// §12.8.2.4 (FieldMDP) and the PAdES rules for LTV updates (ETSI EN
// 319 142-1 §5.4: DSS and document timestamps).
//
// Every object a later revision defines or frees is classified by the
// places it is reachable from, in the revision before and after the
// change: page tree, page content and resources, annotations, form
// fields, signature values, DSS, and so on. An object reachable from
// several places must be acceptable in all of them, which defeats updates
// that look like a form appearance change but overwrite an object the
// page also shows. Containers (catalog, AcroForm, field lists, pages,
// /Annots arrays, fields) are compared key by key, resolving references
// as of each revision. An added annotation that is visible and overlaps
// an annotation present when signing, or (for annotations other than
// signature widgets) the text and images of the page as located by
// contentBoxes, is refused: it may hide what the signer saw.
//
// A certification signature named by the catalog's /Perms before this one
// lowers the permission level to its own P.
//
// It returns ModificationNone when no revision follows signedRev,
// ModificationDisallowed with the reasons when any change is not
// permitted, else ModificationAllowed with short notes on what was added.
// sigField is the signature's field (used to name it in reasons); it may
// be the zero Ref.
func analyzeModifications(f *pdf.File, signedRev int, sigField pdf.Ref, mdp MDP) (Modification, []string) {
	revs := f.Revisions()
	if signedRev < 0 || signedRev >= len(revs)-1 {
		return ModificationNone, nil
	}
	a := &modAnalyzer{f: f, mdp: mdp, sigField: sigField, level: permAnnotations}
	if mdp.Certification || mdp.P != 0 {
		a.level = mdp.P
		if a.level < permNone || a.level > permAnnotations {
			a.level = permForms
		}
	}
	// A certification signature made before this one governs every later
	// change too (ISO 32000-2 §12.8.2.2.1).
	if p := certificationP(f, signedRev); p != 0 && p < a.level {
		a.level = p
	}
	old := a.walk(signedRev)
	for r := signedRev + 1; r < len(revs); r++ {
		cur := a.walk(r)
		a.compareRevision(old, cur)
		old = cur
	}
	if len(a.bad) > 0 {
		return ModificationDisallowed, a.bad
	}
	return ModificationAllowed, a.notes
}

// certificationP returns the DocMDP permission of the certification
// signature named by the catalog's /Perms /DocMDP as of revision rev, or 0
// when there is none.
func certificationP(f *pdf.File, rev int) int {
	cat, err := f.Catalog(rev)
	if err != nil {
		return 0
	}
	resolve := func(o pdf.Object) pdf.Dict {
		v, err := f.Resolve(o, rev)
		if err != nil {
			return nil
		}
		return dictOf(v)
	}
	sig := resolve(resolve(cat["Perms"])["DocMDP"])
	if sig == nil {
		return 0
	}
	refs, _ := f.Resolve(sig["Reference"], rev)
	arr, _ := refs.(pdf.Array)
	for _, r := range arr {
		rd := resolve(r)
		if rd.Name("TransformMethod") != "DocMDP" {
			continue
		}
		if p, ok := resolve(rd["TransformParams"]).Int("P"); ok && p >= 1 && p <= 3 {
			return int(p)
		}
		return permForms
	}
	return 0
}

type modAnalyzer struct {
	boxes    map[boxKey][]rect
	f        *pdf.File
	mdp      MDP
	sigField pdf.Ref
	level    int
	bad      []string
	notes    []string
	rev      int // revision being judged
}

func (a *modAnalyzer) disallow(format string, args ...any) {
	msg := fmt.Sprintf("revision %d: ", a.rev+1) + fmt.Sprintf(format, args...)
	if len(a.bad) < maxModReasons && !slices.Contains(a.bad, msg) {
		a.bad = append(a.bad, msg)
	}
}

func (a *modAnalyzer) note(format string, args ...any) {
	msg := fmt.Sprintf("revision %d: ", a.rev+1) + fmt.Sprintf(format, args...)
	if len(a.notes) < maxModReasons && !slices.Contains(a.notes, msg) {
		a.notes = append(a.notes, msg)
	}
}

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
	roleOther             // anything else reachable from the catalog
)

var roleLabels = map[role]string{
	roleCatalog: "document catalog", rolePageTree: "page tree", rolePage: "page",
	roleContent: "page content or resources", roleAnnotsArray: "annotation array",
	roleAnnot: "annotation", roleAnnotAP: "annotation appearance", roleAcroForm: "AcroForm",
	roleAcroFormData: "AcroForm data", roleFieldsArray: "form field array", roleField: "form field",
	roleFieldAP: "form field appearance", roleSigValue: "signature dictionary", roleDSS: "DSS",
	roleHarmless: "document metadata", roleNames: "name dictionary",
	roleAnnotNames: "named annotation appearances", roleOther: "catalog data",
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
		default:
			a.walkGeneric(g, v, roleOther, pdf.Ref{}, path, 0)
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
				a.walkGeneric(g, d[k], roleContent, pdf.Ref{}, path+" /"+string(k), 0)
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
			a.walkGeneric(g, d[k], roleContent, pdf.Ref{}, page+" /"+string(k), 0)
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

// compareRevision judges the revision cur against its predecessor old.
func (a *modAnalyzer) compareRevision(old, cur *graph) {
	a.rev = cur.rev
	rev := a.f.Revisions()[cur.rev]
	if rev.XrefOffset < 0 && !slices.Contains(a.f.EOFMarkers(), rev.End) {
		a.disallow("%d bytes after the last %%%%EOF are not a proper incremental update", rev.End-a.f.Revisions()[old.rev].End)
	}

	if len(old.pages) != len(cur.pages) {
		switch {
		case len(cur.pages) > len(old.pages):
			a.disallow("%d page(s) added", len(cur.pages)-len(old.pages))
		default:
			a.disallow("%d page(s) removed", len(old.pages)-len(cur.pages))
		}
	} else if !slices.Equal(old.pages, cur.pages) {
		a.disallow("pages reordered or replaced")
	}
	if old.root != cur.root {
		a.compareCatalog(old, cur, a.resolve(old.root, old.rev), a.resolve(cur.root, cur.rev))
	}

	nums := make([]int, 0, len(rev.Entries))
	for n := range rev.Entries {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, num := range nums {
		a.judgeObject(old, cur, num)
	}
}

func (a *modAnalyzer) judgeObject(old, cur *graph, num int) {
	e := a.f.Revisions()[cur.rev].Entries[num]
	newRef := pdf.Ref{Num: num, Gen: e.Gen}
	oldEntry, _, existed := a.f.EntryFor(newRef, old.rev)
	if existed && !oldEntry.Free && oldEntry == e {
		return // restated, unchanged
	}
	oldRef := newRef
	if existed && !oldEntry.Free && oldEntry.Stream == 0 {
		oldRef.Gen = oldEntry.Gen
	} else if existed && oldEntry.Stream != 0 {
		oldRef.Gen = 0
	}
	if e.Free {
		// A freed object matters only if something still refers to it;
		// whatever stopped referring to it is judged on its own.
		if r := cur.dangling[oldRef] &^ (roleHarmless | roleDSS); r != 0 && existed && !oldEntry.Free {
			a.disallow("object %d freed but still referenced (%s)", num, roleList(r))
		}
		return
	}
	if e.Stream == 0 {
		// An entry that does not point at its own "N G obj" header is read
		// from elsewhere by this package but may be shown differently by
		// a viewer: refuse it rather than guess.
		// HeaderOffset is ObjectSpan's start found without parsing the
		// object; only when it differs (rarely) is the span itself read,
		// to refuse only objects that parse, as before.
		if off, err := a.f.HeaderOffset(newRef, cur.rev); err == nil && off != e.Offset {
			if _, _, err := a.f.ObjectSpan(newRef, cur.rev); err == nil {
				a.disallow("cross-reference entry for object %d points at offset %d, where that object is not", num, e.Offset)
				return
			}
		}
	}
	oldObj, errOld := a.f.Object(oldRef, old.rev)
	newObj, errNew := a.f.Object(newRef, cur.rev)
	if errOld != nil || errNew != nil {
		if r := old.roles[oldRef] | cur.roles[newRef]; r != 0 {
			a.disallow("object %d could not be read (%v)", num, firstErr(errOld, errNew))
		}
		return
	}
	if oldObj != nil && old.roles[oldRef]&roleSigValue != 0 && !a.sameBytes(oldRef, old.rev, newRef, cur.rev) {
		// A signed signature dictionary is never rewritten by honest
		// software, and parsed equality can hide a spoof: a duplicated
		// key (/Name twice) that one viewer reads first and another last.
		a.disallow("signature dictionary %d rewritten after it was signed", num)
		return
	}
	if a.equal(oldObj, old.rev, newObj, cur.rev, 0) {
		return
	}
	roles := old.roles[oldRef] | cur.roles[newRef]
	if oldObj == nil {
		// A new object: it matters if it fills a reference that dangled
		// before, or where the new graph reaches it.
		roles = old.dangling[newRef] | cur.roles[newRef]
		if old.dangling[newRef]&^roleHarmless&^roleDSS != 0 {
			a.disallow("new object %d fills a reference that was empty when signed (%s)", num, roleList(old.dangling[newRef]))
			return
		}
		a.judgeNew(newObj, roles)
		return
	}
	name := a.describe(old, cur, oldRef, newRef, num)
	for bit := role(1); bit <= roleOther; bit <<= 1 {
		if roles&bit == 0 {
			continue
		}
		switch bit {
		case roleCatalog:
			a.compareCatalog(old, cur, oldObj, newObj)
		case rolePageTree:
			a.disallow("page tree node %d changed", num)
		case rolePage:
			a.comparePage(old, cur, oldRef, name, oldObj, newObj)
		case roleContent:
			a.disallow("page content or resources changed: %s (object %d)", pathOf(old, cur, oldRef, newRef, bit), num)
		case roleAnnotsArray:
			page := pdf.Ref{}
			if ow := old.owners[oldRef]; len(ow) > 0 {
				page = ow[0]
			}
			a.compareAnnots(old, cur, page, name, oldObj, newObj)
		case roleAnnot:
			if roles&roleField == 0 {
				a.compareAnnot(old, cur, oldRef, name, oldObj, newObj)
			}
		case roleAnnotAP:
			a.judgeOwned(old, cur, oldRef, name, "appearance")
		case roleAcroForm:
			a.compareAcroForm(old, cur, oldObj, newObj)
		case roleAcroFormData:
			a.disallow("AcroForm data changed (object %d)", num)
		case roleFieldsArray:
			a.compareFields(old, cur, name, oldObj, newObj)
		case roleField:
			a.compareField(old, cur, oldRef, oldObj, newObj)
		case roleFieldAP:
			a.judgeOwned(old, cur, oldRef, name, "appearance or value")
		case roleSigValue:
			a.disallow("signature dictionary %d changed after it was signed", num)
		case roleDSS:
			a.note("DSS updated")
		case roleHarmless:
		case roleNames:
			a.compareNames(old, cur, oldObj, newObj)
		case roleAnnotNames:
			if a.level < permAnnotations {
				a.disallow("named annotation appearances changed (object %d)", num)
			}
		case roleOther:
			a.disallow("%s changed (object %d)", pathOf(old, cur, oldRef, newRef, bit), num)
		}
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func roleList(r role) string {
	var names []string
	for bit := role(1); bit <= roleOther; bit <<= 1 {
		if r&bit != 0 {
			names = append(names, roleLabels[bit])
		}
	}
	return strings.Join(names, ", ")
}

type refRole struct {
	ref pdf.Ref
	r   role
}

// pathOf names where ref is reachable with role r, preferring the old
// revision.
func pathOf(old, cur *graph, oldRef, newRef pdf.Ref, r role) string {
	if p, ok := old.rolePath[refRole{oldRef, r}]; ok {
		return p
	}
	if p, ok := cur.rolePath[refRole{newRef, r}]; ok {
		return p
	}
	return "object " + strconv.Itoa(newRef.Num)
}

func (a *modAnalyzer) describe(old, cur *graph, oldRef, newRef pdf.Ref, num int) string {
	if p, ok := old.paths[oldRef]; ok {
		return p
	}
	if p, ok := cur.paths[newRef]; ok {
		return p
	}
	return fmt.Sprintf("object %d", num)
}

// judgeNew judges an object that did not exist at the previous revision.
// Most new objects are judged through the container that starts to refer
// to them; only a few need a check of their own.
func (a *modAnalyzer) judgeNew(obj pdf.Object, roles role) {
	switch {
	case roles&roleSigValue != 0:
		d := dictOf(obj)
		if isDocTimestamp(d) {
			a.note("document timestamp added")
		} else {
			a.note("signature added")
		}
	case roles&roleDSS != 0:
		a.note("DSS added or updated")
	}
}

func isDocTimestamp(d pdf.Dict) bool {
	return d.Name("Type") == "DocTimeStamp" || d.Name("SubFilter") == "ETSI.RFC3161"
}

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

func (a *modAnalyzer) compareCatalog(old, cur *graph, o, n pdf.Object) {
	od, nd := dictOf(o), dictOf(n)
	if nd == nil {
		a.disallow("document catalog missing or not a dictionary")
		return
	}
	for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
		switch k {
		case "DSS":
			a.note("DSS added or updated")
		case "Extensions", "Metadata", "Perms", "Version":
		case "Names":
			if _, sameRef := nd[k].(pdf.Ref); sameRef && nd[k] == od[k] {
				continue // judged on its own
			}
			a.compareNames(old, cur, a.resolve(od[k], old.rev), a.resolve(nd[k], cur.rev))
		case "AcroForm":
			ov := a.resolve(od[k], old.rev)
			nv := a.resolve(nd[k], cur.rev)
			if _, sameRef := nd[k].(pdf.Ref); sameRef && nd[k] == od[k] {
				continue // the AcroForm object itself is judged on its own
			}
			a.compareAcroForm(old, cur, ov, nv)
		default:
			a.disallow("catalog /%s changed", k)
		}
	}
}

// compareNames checks the catalog /Names dictionary: only the /AP name
// tree (appearances of annotations, as Acrobat writes for stamps) may
// change, and only where annotations may be added.
func (a *modAnalyzer) compareNames(old, cur *graph, o, n pdf.Object) {
	od, nd := dictOf(o), dictOf(n)
	for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
		if k == "AP" && a.level >= permAnnotations {
			continue
		}
		a.disallow("catalog /Names /%s changed", k)
	}
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

func refOf(o pdf.Object) pdf.Ref {
	r, _ := o.(pdf.Ref)
	return r
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
			if ok, fname := a.fieldMayChange(old, o); !ok {
				a.disallow("%s of form field %q changed (object %d)", what, fname, ref.Num)
			}
			continue
		}
		if a.level < permAnnotations {
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
		case "AP", "AS", "MK", "I", "RV", "F", "DA", "Lock", "SV":
			if !may {
				a.disallow("form field %q /%s changed", info.name, k)
				continue
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

func (a *modAnalyzer) comparePage(old, cur *graph, page pdf.Ref, name string, o, n pdf.Object) {
	od, nd := dictOf(o), dictOf(n)
	if nd == nil {
		a.disallow("%s removed", name)
		return
	}
	for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
		if k == "Annots" {
			if r, ok := nd[k].(pdf.Ref); ok && r == od[k] {
				continue // the array object is judged on its own
			}
			a.compareAnnots(old, cur, page, name, a.resolve(od[k], old.rev), a.resolve(nd[k], cur.rev))
			continue
		}
		a.disallow("%s /%s changed", name, k)
	}
}

// compareAnnots checks a page's annotation list: removing annotations or
// adding ones other than signature widgets needs P=3; an added
// annotation must not overlap an existing one.
func (a *modAnalyzer) compareAnnots(old, cur *graph, page pdf.Ref, name string, o, n pdf.Object) {
	oa, _ := o.(pdf.Array)
	na, _ := n.(pdf.Array)
	for _, x := range oa {
		if !containsObj(na, x) && !a.equalIn(na, x, old.rev, cur.rev) && a.level < permAnnotations {
			a.disallow("annotation removed from %s", name)
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
	if a.level >= permAnnotations {
		a.note("%s changed", name)
		return
	}
	od, nd := dictOf(o), dictOf(n)
	if nd != nil && nd.Name("Subtype") == "Widget" {
		if may, _ := a.fieldMayChange(old, ref); may {
			for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
				if k != "AP" && k != "AS" && k != "MK" {
					a.disallow("%s /%s changed", name, k)
				}
			}
			return
		}
	}
	a.disallow("%s changed", name)
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

type boxKey struct {
	page pdf.Ref
	rev  int
}

// matrix is a PDF transformation matrix [a b c d e f] (ISO 32000-2 §8.3.3).
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n: m applied first, then n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// box maps the rectangle (x0,y0)-(x1,y1) through m and returns its
// bounding box.
func (m matrix) box(x0, y0, x1, y1 float64) rect {
	r := rect{1e300, 1e300, -1e300, -1e300}
	for _, p := range [][2]float64{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
		x := p[0]*m[0] + p[1]*m[2] + m[4]
		y := p[0]*m[1] + p[1]*m[3] + m[5]
		r[0], r[1], r[2], r[3] = min(r[0], x), min(r[1], y), max(r[2], x), max(r[3], y)
	}
	return r
}

func nums(args []pdf.Object) ([]float64, bool) {
	out := make([]float64, len(args))
	for i, o := range args {
		switch v := o.(type) {
		case int64:
			out[i] = float64(v)
		case float64:
			out[i] = v
		default:
			return nil, false
		}
	}
	return out, true
}

// contentBoxes returns, approximately and in default user space, where
// page (as of g.rev) draws text and images. It interprets only what
// positions them (cm, q/Q, text positioning, Do, inline images), not
// fonts: a text run is taken as half an em per byte wide, which is enough
// to tell whether an annotation sits over text. Paths are ignored, as
// full-page white backgrounds and clipping rectangles would make every
// annotation overlap. The result is cached; work is bounded.
func (a *modAnalyzer) contentBoxes(g *graph, page pdf.Ref) []rect {
	if page == (pdf.Ref{}) {
		return nil
	}
	key := boxKey{page, g.rev}
	if b, ok := a.boxes[key]; ok {
		return b
	}
	if a.boxes == nil {
		a.boxes = map[boxKey][]rect{}
	}
	d, _ := a.resolve(page, g.rev).(pdf.Dict)
	cw := &contentWalker{a: a, rev: g.rev, bytesLeft: maxContentBytes, opsLeft: maxContentOps}
	if d != nil {
		res := d
		for range maxWalkDepth {
			if _, ok := res["Resources"]; ok {
				break
			}
			p, _ := a.resolve(res["Parent"], g.rev).(pdf.Dict)
			if p == nil {
				break
			}
			res = p
		}
		resources, _ := a.resolve(res["Resources"], g.rev).(pdf.Dict)
		var data []byte
		contents := a.resolve(d["Contents"], g.rev)
		streams, ok := contents.(pdf.Array)
		if !ok {
			streams = pdf.Array{contents}
		}
		for _, s := range streams {
			data = append(data, cw.read(a.resolve(s, g.rev))...)
			data = append(data, '\n')
		}
		cw.run(data, resources, identity, 0)
	}
	a.boxes[key] = cw.boxes
	return cw.boxes
}

type contentWalker struct {
	a         *modAnalyzer
	rev       int
	boxes     []rect
	bytesLeft int64
	opsLeft   int
}

func (cw *contentWalker) read(o pdf.Object) []byte {
	s, ok := o.(*pdf.Stream)
	if !ok || cw.bytesLeft <= 0 {
		return nil
	}
	r, err := cw.a.f.StreamReader(s, true)
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r, cw.bytesLeft))
	cw.bytesLeft -= int64(len(b))
	return b
}

func (cw *contentWalker) add(r rect) {
	if len(cw.boxes) < maxContentBoxes && r[2] > r[0] && r[3] > r[1] {
		cw.boxes = append(cw.boxes, r)
	}
}

func (cw *contentWalker) run(data []byte, res pdf.Dict, ctm matrix, depth int) {
	var (
		stack         []matrix
		tm, tlm       = identity, identity
		size, leading float64
		errStop       = fmt.Errorf("stop")
	)
	show := func(glyphs float64, adjust float64) {
		if size == 0 {
			return
		}
		w := glyphs*0.5*size - adjust/1000*size
		trm := tm.mul(ctm)
		cw.add(trm.box(0, -0.25*size, max(w, 0.5*size), size))
		tm = matrix{1, 0, 0, 1, w, 0}.mul(tm)
	}
	nextLine := func(tx, ty float64) {
		tlm = matrix{1, 0, 0, 1, tx, ty}.mul(tlm)
		tm = tlm
	}
	_ = pdf.ParseContent(data, func(op string, args []pdf.Object) error {
		if cw.opsLeft--; cw.opsLeft < 0 {
			return errStop
		}
		n, numeric := nums(args)
		switch op {
		case "q":
			if len(stack) < 256 {
				stack = append(stack, ctm)
			}
		case "Q":
			if len(stack) > 0 {
				ctm, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		case "cm":
			if numeric && len(n) == 6 {
				ctm = matrix(n).mul(ctm)
			}
		case "BT":
			tm, tlm = identity, identity
		case "Tf":
			if len(args) == 2 {
				if v, ok := nums(args[1:]); ok {
					size = v[0]
				}
			}
		case "TL":
			if numeric && len(n) == 1 {
				leading = n[0]
			}
		case "Td", "TD":
			if numeric && len(n) == 2 {
				if op == "TD" {
					leading = -n[1]
				}
				nextLine(n[0], n[1])
			}
		case "Tm":
			if numeric && len(n) == 6 {
				tm, tlm = matrix(n), matrix(n)
			}
		case "T*":
			nextLine(0, -leading)
		case "Tj", "'", "\"":
			if op != "Tj" {
				nextLine(0, -leading)
			}
			if len(args) > 0 {
				if s, ok := args[len(args)-1].(pdf.String); ok {
					show(float64(len(s)), 0)
				}
			}
		case "TJ":
			if len(args) == 1 {
				arr, _ := args[0].(pdf.Array)
				var glyphs, adjust float64
				for _, e := range arr {
					switch v := e.(type) {
					case pdf.String:
						glyphs += float64(len(v))
					case int64:
						adjust += float64(v)
					case float64:
						adjust += v
					}
				}
				show(glyphs, adjust)
			}
		case "BI":
			cw.add(ctm.box(0, 0, 1, 1))
		case "Do":
			if len(args) != 1 {
				break
			}
			name, _ := args[0].(pdf.Name)
			xobjs, _ := cw.a.resolve(res["XObject"], cw.rev).(pdf.Dict)
			x, _ := cw.a.resolve(xobjs[name], cw.rev).(*pdf.Stream)
			if x == nil {
				break
			}
			switch x.Dict.Name("Subtype") {
			case "Image":
				cw.add(ctm.box(0, 0, 1, 1))
			case "Form":
				if depth >= maxFormDepth {
					break
				}
				m := identity
				if arr, ok := cw.a.resolve(x.Dict["Matrix"], cw.rev).(pdf.Array); ok {
					if v, ok := nums(arr); ok && len(v) == 6 {
						m = matrix(v)
					}
				}
				fres, _ := cw.a.resolve(x.Dict["Resources"], cw.rev).(pdf.Dict)
				if fres == nil {
					fres = res
				}
				cw.run(cw.read(x), fres, m.mul(ctm), depth+1)
			}
		}
		return nil
	})
}
