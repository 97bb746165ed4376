package casework

import "time"

// RetainUntil is the date until which the sealed files of a case
// completed at completed (the sealed PDFs and the evidence records) are
// retained by a blob store that enforces retention
// (storage.Blobs.SetRetain, S3 Object Lock): the statutory ten years
// from completion. It stands in for the case's retention end (extendable
// to 15 years) until that is stored with the case; a store's retention
// can be extended later, never shortened.
func RetainUntil(completed time.Time) time.Time { return completed.AddDate(10, 0, 0) }
