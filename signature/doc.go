// Package signature validates and creates PDF signatures: Validate (or a
// reusable Validator) checks every signature and document timestamp in
// every revision of a PDF and returns a Report; Validator.ValidateUpdate
// also judges what a returned contract added after the bytes that were
// sent; Sign adds a PAdES signature as an incremental update;
// AddValidationData and AddDocumentTimestamp raise a signed PDF to the
// long-term levels B-LT and B-LTA. Sign takes any crypto.Signer (a key in
// memory, or one in a token or HSM through the cgo package
// signature/pkcs11); a visible signature may embed a subset of a Japanese
// TrueType font (LoadFont; IPAex Gothic by default) and a PNG seal image.
//
// The verdicts follow ETSI EN 319 102-1 (indications and sub-indications),
// the signature formats ISO 32000-2 §12.8 and ETSI EN 319 142-1 (PAdES).
// Validation returns an error only when it could not run; everything about
// the document, a file that does not parse included, is in the Report.
//
// Documents are read through io.ReaderAt and never held in memory whole:
// the signed byte ranges of all signatures are hashed in one streamed pass
// (the hash state is copied at each signature's excluded gap), and the PDF
// structure is read object by object. Time is explicit: ValidateOptions.At
// is the validation time (zero means now), as in x509.VerifyOptions.
//
// Modifications after a signature are judged by one rule per class of
// allowed change (modrule_*.go: document structure, forms, field locking,
// annotations, tagged-PDF structure trees, producer keys that draw
// nothing) under a policy that refuses what no rule allows
// (modification.go). Nothing that changes what a signed page shows is
// allowed but a form fill (a field's value and the appearance showing it)
// and a new signature's own widget. Bytes after the last %%EOF that define
// no object are reported as not covered and lower nothing.
//
// The PAdES level is the level proven: a signature whose cryptography
// fails has none, and an archive timestamp counts only when its token
// verifies.
//
// Limits: a signature field tree of at most 10,000 nodes and depth 32; at
// most 1,000 items of at most 1 MiB each per DSS array and 64 DSS
// versions; the modification analysis visits at most 200,000 objects a
// revision and 5,000,000 over the revisions after a signature (past that
// the signature fails with that reason); the limits of internal/pdf on
// objects, nesting, streams and revisions (200,000; past it the file is
// reported as not parsed). Work is linear in the number of revisions:
// empty incremental updates are skipped and cross-reference lookups are
// binary searches (BenchmarkValidateRevisions).
// Visible appearances: fonts of at most MaxFontFile bytes, at most 1,024
// distinct characters and 20 lines of text, PNG images of at most
// MaxImageBytes and MaxImagePixels each way.
package signature
