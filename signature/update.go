package signature

import (
	"context"
	"fmt"
	"io"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// UpdateReport is the verdict on a PDF that claims to extend a document
// already known (a contract sent for signature and returned): the Report
// of the whole file, and what the bytes after the known prefix add.
type UpdateReport struct {
	*Report
	// OnlySignatures is true when everything after the prefix is
	// incremental updates that add signatures (new signature fields or
	// values for empty ones), the DSS and document timestamps, and nothing
	// else: no form filling, no annotations, no other change.
	OnlySignatures bool
	// AddedSignatures counts the signatures (not document timestamps)
	// defined after the prefix.
	AddedSignatures int
	// Reasons say what else the update changed, when OnlySignatures is
	// false.
	Reasons []string
}

// ValidateUpdate validates the PDF of size bytes read from r like Validate,
// and judges the part after its first priorSize bytes, which must end at a
// revision boundary of the file: a counterparty that returns a contract may
// add its signature and nothing else. That the first priorSize bytes are
// the ones that were sent is for the caller to check.
func (val *Validator) ValidateUpdate(ctx context.Context, r io.ReaderAt, size, priorSize int64) (*UpdateReport, error) {
	v := val.newRun(ctx, r, size)
	rep, err := v.run()
	if err != nil {
		return nil, err
	}
	up := &UpdateReport{Report: rep}
	if v.f == nil {
		up.Reasons = []string{"the file cannot be parsed as a PDF"}
		return up, nil
	}
	if priorSize <= 0 || priorSize > size {
		up.Reasons = []string{fmt.Sprintf("the known prefix of %d bytes is not within the file of %d bytes", priorSize, size)}
		return up, nil
	}
	k := v.revisionEndingAt(priorSize)
	if k < 0 {
		up.Reasons = []string{"the file does not continue the sent document at a revision boundary: it is not an incremental update of it"}
		return up, nil
	}
	for _, e := range v.entries {
		if e.rep.Kind == KindSignature && e.defRev > k {
			up.AddedSignatures++
		}
	}
	// Signing only: a certification-like P=2 with every field locked
	// allows new signatures, signature values, the DSS and document
	// timestamps (ISO 32000-2 §12.8.2.2, §12.8.2.4; ETSI EN 319 142-1 §5.4).
	mod, reasons := analyzeModifications(v.f, k, pdf.Ref{}, MDP{Certification: true, P: 2, Lock: &FieldLock{Action: "All"}})
	up.OnlySignatures = mod != ModificationDisallowed
	if !up.OnlySignatures {
		up.Reasons = reasons
	}
	return up, nil
}
