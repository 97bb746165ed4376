package signature

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// The modification analysis is split the way pyHanko's diff_analysis is
// (STYLE.md item 11):
//
//   - modification_walk.go walks each revision's object graph and labels
//     every object with the places (roles) it is reachable from;
//   - modrule_*.go each hold one class of allowed change (a rule): the
//     document structure, forms, annotations, and so on;
//   - this file is the policy: it walks the revisions, hands each changed
//     object to the rules its roles call for, and disallows what no rule
//     allows (judgeObject's default is to refuse).

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
	maxWalkNodes = 200000
	// maxAnalysisWork bounds the objects visited over all revisions after
	// a signature: a contract has a few thousand objects and a few
	// revisions; a file that needs more is refused, with that reason.
	maxAnalysisWork = 5000000
	maxWalkDepth    = 64
	maxModReasons   = 20
	maxCompareData  = 64 << 20
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
	a.signed = old
	for r := signedRev + 1; r < len(revs); r++ {
		if f.Unchanged(r) {
			// An empty incremental update: the graph is old's, and
			// nothing in it changed (a file of many such updates costs
			// constant work for each).
			continue
		}
		if a.work > maxAnalysisWork {
			a.rev = r
			a.disallow("the revisions after signing are too many or too large to analyse (more than %d object visits); the document is refused rather than judged in part", maxAnalysisWork)
			break
		}
		cur := a.walk(r)
		a.work += maxWalkNodes - max(cur.budget, 0)
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
	work     int // objects visited so far, against maxAnalysisWork
	eofs     map[int64]bool
	// signed is the graph of the signed revision: what the signer saw.
	signed *graph
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

// compareRevision judges the revision cur against its predecessor old.
func (a *modAnalyzer) compareRevision(old, cur *graph) {
	a.rev = cur.rev
	rev := a.f.Revisions()[cur.rev]
	if a.eofs == nil && rev.XrefOffset < 0 {
		a.eofs = map[int64]bool{}
		for _, m := range a.f.EOFMarkers() {
			a.eofs[m] = true
		}
	}
	if rev.XrefOffset < 0 && !a.eofs[rev.End] {
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
			a.comparePageTreeNode(old, cur, num, oldObj, newObj)
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
		case roleHarmless, roleStructure:
			// Draws nothing; an object also reachable from what draws is
			// judged by its other roles.
		case roleProducer:
			// Producer data may change only where nothing else reaches it
			// (modrule_producer.go); pyHanko too refuses an update to an
			// object reachable from an unknown key and from elsewhere.
			if other := roles &^ roleProducer; other != 0 {
				a.disallow("%s (object %d) is producer data also used as %s; a change to it is not bookkeeping", pathOf(old, cur, oldRef, newRef, bit), num, roleList(other))
			}
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
