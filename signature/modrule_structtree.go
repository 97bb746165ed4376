package signature

// Rule: the logical structure of a tagged PDF (ISO 32000-2 §14.7), which
// Acrobat updates when it signs a tagged document (most Word-exported
// contracts): the catalog's /StructTreeRoot and /MarkInfo, everything
// reachable only from the structure tree (structure elements, the
// /ParentTree, /IDTree, /RoleMap, /ClassMap), a page's /StructParents and
// an annotation's /StructParent. None of these draw anything: they say
// how content already drawn is organised. An object the structure tree
// shares with a page (a marked-content stream named by /Stm, say) is
// reachable from the page too, and a change to it is judged — and
// refused — as a change to page content.

// structureCatalogKeys are the catalog entries of the logical structure,
// and /Lang, the natural language tagging sets for assistive technology
// (ISO 32000-2 §14.9.2), which draws nothing either.
var structureCatalogKeys = map[string]bool{"StructTreeRoot": true, "MarkInfo": true, "Lang": true}

// structureKey reports whether k, a key of an annotation or page, only
// links it to the structure tree (ISO 32000-2 Table 31 /StructParents,
// Table 166 /StructParent) or sets the page's tab order (/Tabs, which
// Acrobat sets to /S, structure order, when it tags): none draws.
func structureKey(k string) bool { return k == "StructParents" || k == "StructParent" || k == "Tabs" }
