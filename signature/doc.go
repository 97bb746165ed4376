// Package signature validates and creates PDF signatures: Validate checks
// every signature and document timestamp in every revision of a PDF and
// returns a Report; Sign adds a PAdES signature as an incremental update;
// AddValidationData and AddDocumentTimestamp raise a signed PDF to the
// long-term levels B-LT and B-LTA.
//
// The verdicts follow ETSI EN 319 102-1 (indications and sub-indications),
// the signature formats ISO 32000-2 §12.8 and ETSI EN 319 142-1 (PAdES).
// Documents are read through io.ReaderAt and never held in memory whole.
package signature
