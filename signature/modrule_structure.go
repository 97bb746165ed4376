package signature

import (
	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Rule: the document structure (catalog, page tree, pages, the /Names
// dictionary). Pages may not be added, removed or changed, apart from their
// annotation lists, which modrule_annotations.go judges.

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
			switch {
			case structureCatalogKeys[string(k)]:
				a.note("structure tree updated")
			case drawsNothing(catalogKeys, string(k)):
				a.note("producer data /%s in the catalog changed", k)
			default:
				a.disallow("catalog /%s changed", k)
			}
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
		if structureKey(string(k)) || drawsNothing(pageKeys, string(k)) {
			continue
		}
		a.disallow("%s /%s changed", name, k)
	}
}

// comparePageTreeNode checks an intermediate /Pages node: only keys that
// draw nothing (modrule_producer.go) may change; its kids are the pages,
// compared as a list by compareRevision.
func (a *modAnalyzer) comparePageTreeNode(old, cur *graph, num int, o, n pdf.Object) {
	od, nd := dictOf(o), dictOf(n)
	if nd == nil {
		a.disallow("page tree node %d removed", num)
		return
	}
	for _, k := range a.changedKeys(od, old.rev, nd, cur.rev) {
		if drawsNothing(pageTreeKeys, string(k)) {
			a.note("producer data /%s in page tree node %d changed", k, num)
			continue
		}
		a.disallow("page tree node %d /%s changed", num, k)
	}
}
