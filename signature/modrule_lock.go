package signature

import (
	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Rule: field locking, as Acrobat and Adobe Sign do when a signature locks
// earlier fields or its own: setting the ReadOnly flag (/Ff bit 1, ISO
// 32000-2 Table 226) on a field, and a /Lock dictionary (§12.7.5.5,
// Table 236) on a signature field. Neither draws anything: ReadOnly only
// stops a user editing the field, and /Lock only says which fields later
// signatures lock. Any other change of /Ff (Password, Comb, multi-line,
// ... which change how the value is shown) stays disallowed, and so does
// /Lock on a field that is not a signature field.

// ffReadOnly is the ReadOnly field flag (ISO 32000-2 Table 226, bit 1).
const ffReadOnly = 1

// judgeLock judges a change of key k of field info from ov to nv. It
// returns false when k is not a key this rule is about.
func (a *modAnalyzer) judgeLock(info fieldInfo, k pdf.Name, ov pdf.Object, orev int, nv pdf.Object, nrev int) bool {
	switch k {
	case "Ff":
		oldFF, _ := a.resolve(ov, orev).(int64)
		newFF, ok := a.resolve(nv, nrev).(int64)
		if ok && newFF == oldFF|ffReadOnly {
			a.note("form field %q locked (read-only)", info.name)
			return true
		}
		a.disallow("form field %q /Ff changed from %d to %v: only setting the ReadOnly flag is allowed", info.name, oldFF, a.resolve(nv, nrev))
		return true
	case "Lock":
		if info.ft != "Sig" {
			a.disallow("form field %q given a /Lock, which only signature fields may have", info.name)
			return true
		}
		if _, ok := a.resolve(nv, nrev).(pdf.Dict); !ok {
			a.disallow("signature field %q /Lock is not a dictionary", info.name)
			return true
		}
		a.note("signature field %q lock (/Lock) set", info.name)
		return true
	}
	return false
}
