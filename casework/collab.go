package casework

import (
	"context"
	"io"
	"time"
)

// Validator checks an uploaded PDF's signatures. The facade wires in the
// signature package; casework needs only the verdict below.
type Validator interface {
	// Validate checks the PDF of size bytes read from r at time opts.At
	// (zero: now, per the validator's clock). It returns an error only
	// when it could not run (I/O, cancelled ctx); a file it cannot parse
	// is a Verdict with Passed false and a reason.
	Validate(ctx context.Context, r io.ReaderAt, size int64, opts *ValidateOptions) (*Verdict, error)
}

// ValidateOptions are per-call settings for Validator.Validate. nil means
// the zero value.
type ValidateOptions struct {
	// At is the validation time; zero means now.
	At time.Time
	// PriorSize, when positive, is the size of the revision this file is
	// claimed to extend (the bytes that were sent): the validator then
	// reports in Verdict.OnlyAllowedChanges whether everything after the
	// first PriorSize bytes is incremental updates that add signatures,
	// the DSS and document timestamps and nothing else (ISO 32000-2
	// §12.8.2.2 modification detection; ETSI EN 319 142-1 §5.4 for DSS).
	// That the first PriorSize bytes are unchanged is checked by casework.
	PriorSize int64
}

// Verdict is what a Validator found.
type Verdict struct {
	// Passed is true when the file is a PDF the validator could read and
	// every signature in it is valid (ETSI EN 319 102-1 TOTAL-PASSED). A
	// file without signatures passes.
	Passed bool
	// Signatures is the number of signatures (not counting document
	// timestamps) in the file.
	Signatures int
	// OnlyAllowedChanges answers ValidateOptions.PriorSize; false when
	// PriorSize was 0.
	OnlyAllowedChanges bool
	// AddedSignatures counts the signatures in the updates after
	// ValidateOptions.PriorSize; 0 when PriorSize was 0.
	AddedSignatures int
	// Reasons say, for a user, what is wrong when Passed is false or
	// OnlyAllowedChanges is unexpectedly false.
	Reasons []string
	// Unreadable is true when the file could not be read as a PDF at all
	// (not a PDF, or damaged beyond reading); Passed is then false.
	Unreadable bool
	// ChangedPage is the number (from 1) of the first page the update
	// after ValidateOptions.PriorSize changes beyond adding signatures,
	// or 0 when no page change was found (or PriorSize was 0).
	ChangedPage int
	// Signers describes each signature (not document timestamps), in
	// file order, with who made it and in which revision; casework checks
	// against it that a signature belongs to the company that uploads it.
	// A Validator that leaves it empty makes every signed upload fail
	// that check.
	Signers []Signer
}

// Sealer makes a completed case provable for the long term. The facade
// wires in the archive package (PAdES B-LTA for PDFs, RFC 4998 evidence
// records for other files, with the local TSA by default).
type Sealer interface {
	// SealPDF writes to w the sealed form of the PDF of size bytes read
	// from r: the same bytes followed by incremental updates adding the
	// DSS and a document timestamp (PAdES B-LTA, ETSI EN 319 142-1 §6).
	SealPDF(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) error
	// SealFile returns the DER of an RFC 4998 EvidenceRecord for the
	// bytes read from r (SHA-256, an RFC 3161 archive timestamp over a
	// hash tree shared with other files sealed at the same time). It
	// returns once the record exists.
	SealFile(ctx context.Context, r io.Reader) ([]byte, error)
}

// SealChecker is an optional ability of a Sealer, found by type
// assertion: telling, before a case is registered or returned, whether
// its signed PDF could be sealed on completion, so that Complete does not
// fail late for a reason knowable earlier (revocation data neither
// configured nor reachable).
type SealChecker interface {
	// CheckSeal returns the problems that would make SealPDF fail for
	// the PDF of size bytes read from r; none means it can be sealed.
	// Each problem names what to configure. The error is only for a
	// check that could not run (I/O, cancelled ctx).
	CheckSeal(ctx context.Context, r io.ReaderAt, size int64) (problems []string, err error)
}
