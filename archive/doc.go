// Package archive keeps completed contracts provably original for the
// long term: it seals signed PDFs to PAdES B-LTA, stamps other files with
// RFC 3161 evidence, answers original verification (原本検証) and renews
// the evidence before the timestamping authority's certificate expires.
//
// # Sealing
//
// Service.SealPDF adds a Document Security Store (certificates, OCSP
// responses and CRLs for every signature and timestamp, ETSI EN 319 142-1
// §5.4.2) and then a document timestamp (ISO 32000-2 §12.8.5, ETSI EN
// 319 142-1 §5.4.3), raising B-T signatures to B-LTA. Service.StampFile
// returns a DER TimeStampToken (RFC 3161 §2.4.2) over the SHA-256 of a
// non-PDF file.
//
// # Original verification
//
// Service.VerifyPDF validates every signature and document timestamp with
// the signature package and calls the file original only when all of them
// are TOTAL_PASSED, the level is B-LTA and nothing was appended after the
// newest document timestamp. Service.VerifyFile checks a file against its
// token and any renewal tokens. Both return verdicts as values; an error
// means the check could not run (I/O, cancelled context, bad arguments).
//
// # Renewal
//
// A timestamp proves existence only while its TSA certificate can still be
// validated. Before it expires (Service.NeedsPDFRenewal,
// Service.NeedsFileRenewal) the evidence is renewed with a timestamp from a
// TSA whose certificate lives longer:
//
//   - a PDF gets validation data for its newest document timestamp and a new
//     document timestamp over the whole file (Service.RenewPDF), the
//     archive-timestamp chain of ETSI EN 319 142-1 §5.5 / ETSI TS 119 512;
//   - a non-PDF file gets a new token over SHA-256(file ‖ token₀ ‖ … ‖
//     tokenₖ₋₁), the DER of every earlier token in order
//     (Service.RenewFileToken). This is a simple hash chain in the spirit of
//     RFC 4998 evidence records, not their ASN.1: token k proves that the
//     file and tokens 0…k-1 existed at its time, so token k-1's TSA needs
//     to have been valid only at token k's time.
//
// # Limits
//
// A file token chain holds at most MaxTokens tokens of at most MaxTokenSize
// bytes each. The TSA certificates of file tokens are checked for
// revocation under Config.Revocation with the OCSP responses and CRLs of
// Config and, with Config.Online, fetched ones; the token chain itself does
// not carry revocation data (unlike an RFC 4998 evidence record), so an old
// TSA's status at the time of the next token can be shown only while its
// CA still publishes it. PDF document timestamps are checked by the
// signature package with the embedded DSS and, with Config.Online, online
// data.
//
// Renewal on algorithm weakening (rather than expiry) is left to the
// caller: everything is SHA-256 today.
package archive
