package signature

// Rule: producer bookkeeping. Libraries add private keys (iText's /ITXT,
// for one) to the catalog or the page tree when they write a revision.
//
// "Draws nothing" is defined as follows: a key of the catalog, a page tree
// node or a page draws nothing when ISO 32000-2 does not define it for
// that dictionary (Tables 29, 30 and 31) — so no conforming reader takes
// content, resources or annotation appearances from it — or when it is one
// of the defined keys that only hold private application data or a date
// (/PieceInfo, §14.5; /LastModified). Such keys may be added, changed or
// removed, and objects reachable only through them may change. An object
// such a key shares with anything that draws is reachable from that too,
// and is judged (and refused) as such: the rule never allows a change to
// what a page content stream, a resource or an appearance reads.

var (
	// catalogKeys are the entries ISO 32000-2 Table 29 defines.
	catalogKeys = keySet("Type Version Extensions Pages PageLabels Names Dests ViewerPreferences PageLayout PageMode Outlines Threads OpenAction AA URI AcroForm Metadata StructTreeRoot MarkInfo Lang SpiderInfo OutputIntents PieceInfo OCProperties Perms Legal Requirements Collection NeedsRendering DSS AF DPartRoot")
	// pageTreeKeys are the entries of Table 30 and the inheritable page
	// attributes a node may hold (Table 31).
	pageTreeKeys = keySet("Type Parent Kids Count Resources MediaBox CropBox Rotate")
	// pageKeys are the entries ISO 32000-2 Table 31 defines.
	pageKeys = keySet("Type Parent LastModified Resources MediaBox CropBox BleedBox TrimBox ArtBox BoxColorInfo Contents Rotate Group Thumb B Dur Trans Annots AA Metadata PieceInfo StructParents ID PZ SeparationInfo Tabs TemplateInstantiated PresSteps UserUnit VP AF OutputIntents DPart")
	// bookkeepingKeys are defined keys that hold only private data or a
	// date.
	bookkeepingKeys = keySet("PieceInfo LastModified")
)

func keySet(s string) map[string]bool {
	m := map[string]bool{}
	word := ""
	for _, c := range s + " " {
		if c == ' ' {
			if word != "" {
				m[word] = true
			}
			word = ""
			continue
		}
		word += string(c)
	}
	return m
}

// drawsNothing reports whether key k of a dictionary whose defined keys
// are known is producer bookkeeping, by the definition above.
func drawsNothing(known map[string]bool, k string) bool {
	return !known[k] || bookkeepingKeys[k]
}
