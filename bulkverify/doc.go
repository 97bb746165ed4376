// Package bulkverify runs bulk verification (一括検証): for a period and a
// company, it verifies every timestamp of every completed case — each
// signature and document timestamp of the sealed PDFs, and each evidence
// record of the sealed PDFs and supplementary files — and reports one row
// per object with its result and reason, the totals and the time of
// verification, as the Electronic Books Preservation Act (電子帳簿保存法)
// asks of timestamps a tax inspector may check at once.
//
// Verifier.Run streams: it pages through the cases (casework.Search), has
// Config.Workers cases verified at a time, and hands rows to a sink in case
// order, so memory does not grow with the number of cases. CSVWriter,
// JSONWriter and PDFWriter are sinks; Tee feeds several.
//
// Results: PASSED (TOTAL_PASSED, or an evidence record that proves its
// file), FAILED (proven wrong: a changed byte, a broken signature) and
// INDETERMINATE (proves nothing either way: an expired or untrusted TSA,
// missing revocation data). The PDF report uses the standard Helvetica
// font, so text outside ASCII (Japanese case names) is written as \uXXXX
// escapes there; the CSV and JSON carry it as is.
package bulkverify
