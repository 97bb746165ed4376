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
// 319 142-1 §5.4.3), raising B-T signatures to B-LTA. Service.SealFile
// returns an RFC 4998 evidence record (package ers) for a non-PDF file;
// files sealed at the same time share one timestamp over a hash tree
// (batch sealing: Config.BatchWindow, Config.BatchMax; SealDigests for
// many at once). Service.StampFile, the RFC 3161 token over the file's
// SHA-256 that came before records, stays for existing callers.
//
// # Original verification
//
// Service.VerifyPDF validates every signature and document timestamp with
// the signature package and calls the file original only when all of them
// are TOTAL_PASSED, the level is B-LTA and nothing was appended after the
// newest document timestamp. Service.VerifyFile checks a file against its
// evidence record, or its token and any renewal tokens. Both return verdicts as values; an error
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
//   - a non-PDF file's evidence record gets a timestamp renewal (RFC 4998
//     §5.2, Service.RenewRecords, batched), or, when its hash algorithm is
//     declared weak, a hash-tree renewal with a stronger one (§5.3,
//     Service.RenewRecordHashTree; Service.NeedsRecordRenewal says when);
//   - before a timestamp renewal or a hash-tree renewal covers a record's
//     newest timestamp, the validation data for it as of that moment (the
//     TSA's certificate path, an OCSP response or CRL for each certificate
//     below the anchor: Config.OCSPs/CRLs, else online with Config.Online)
//     is kept in the record's cryptoInfos (ers.EvidenceRecord.AddValidationData);
//     VerifyFile consults it first, so an expired TSA's status at renewal
//     time stays provable when its CA and responders are gone. Under the
//     hard-fail policy a renewal without that data fails (kerr.Unavailable)
//     and is tried again later;
//   - the token chain of files sealed before records (a token over
//     SHA-256(file ‖ token₀ ‖ … ‖ tokenₖ₋₁), Service.RenewFileToken) stays
//     verifiable, and Service.ConvertTokenChain turns it into an evidence
//     record: the first token becomes the first archive timestamp, the
//     renewals ride in its attribute OIDTokenChainRenewals, and a
//     timestamp renewal covers it.
//
// A sealed PDF has an evidence record too (the second line of evidence).
// It proves the PDF as sealed; RenewPDF appends to the PDF, so
// VerifyPDFRecord checks the record against the whole file and then the
// file as it ended at each document timestamp, and RenewPDFRecordHashTree
// renews its hash tree the same way. PDFRenewalDue says when a stored PDF
// needs RenewPDF, from its newest document timestamp read from the file's
// tail (the path of each TSA certificate verified once per Service), else
// by validating the whole file.
//
// # Limits
//
// A file token chain holds at most MaxTokens tokens of at most MaxTokenSize
// bytes each; an evidence record has the limits of package ers. The TSA
// certificates of records and file tokens are checked for
// revocation under Config.Revocation with the OCSP responses and CRLs of
// Config and, with Config.Online, fetched ones; the token chain itself does
// not carry revocation data (unlike an RFC 4998 evidence record), so an old
// TSA's status at the time of the next token can be shown only while its
// CA still publishes it. PDF document timestamps are checked by the
// signature package with the embedded DSS and, with Config.Online, online
// data.
//
// Hash-tree renewal with an algorithm other than SHA-256 needs
// Config.Stamper (Config.Timestamper stamps SHA-256 only).
package archive
