// Package pdf reads the object structure of a PDF file revision by
// revision, for signature validation.
//
// It is hand-written rather than built on github.com/digitorus/pdf (a fork
// of rsc.io/pdf) because that library only exposes the newest object graph,
// panics on malformed input and gives no per-revision cross-reference tables
// or byte spans. A signature validator needs every revision's
// cross-reference section separately (ISO 32000-2 §7.5.6, incremental
// updates), exact byte offsets (the /ByteRange of §12.8.1 and the /Contents
// string it skips) and must survive hostile files.
//
// Open reads the header, follows startxref and every /Prev link (classic
// cross-reference tables of §7.5.4, cross-reference streams of §7.5.8 with
// /W, /Index and PNG predictors, and hybrid files with /XRefStm), detects
// /Prev loops, and scans the raw bytes for every %%EOF marker. The
// first-page and main cross-reference sections of a linearized file
// (Annex F) form one revision. When the cross-reference data is damaged it
// reconstructs the object table from a scan for "N G obj" headers, one
// revision per stretch of bytes ending in %%EOF, and reports that through
// File.Repaired; objects appended after the last indexed revision without
// cross-reference data become one more revision (XrefOffset -1), so that a
// validator sees them.
//
// Everything is read through an io.ReaderAt; the file is never loaded whole,
// except that a small in-memory source (a *bytes.Reader or *strings.Reader
// of at most 256 KiB, the size of a typical contract) is copied once at
// Open, which is cheaper than reading it object by object.
// Limits (Options) bound nesting depth, number of objects and decoded stream
// sizes, so bad input yields an error wrapping ErrMalformed or ErrLimit and
// never a panic or a hang.
//
// Encrypted files (a trailer /Encrypt entry) open normally; strings and
// streams are returned as stored, still encrypted. A signature's /Contents
// is never encrypted (ISO 32000-2 §7.6.2), so validation is unaffected.
package pdf
