package signature

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Validate checks every signature and document timestamp in every revision
// of the PDF read from r (size bytes) and returns the verdict as a Report.
//
// It returns an error only when validation could not run: the reader failed
// or ctx was cancelled. Everything about the document itself, including a
// file that does not parse, goes into the Report. opts may be nil.
//
// The file is read through r and never held in memory whole (only a small
// in-memory input, a *bytes.Reader of at most 256 KiB, is copied once);
// the signed byte ranges are hashed as a stream.
func Validate(ctx context.Context, r io.ReaderAt, size int64, opts *ValidateOptions) (*Report, error) {
	return NewValidator(opts).Validate(ctx, r, size)
}

type validator struct {
	ctx  context.Context
	r    io.ReaderAt
	size int64
	opts *ValidateOptions
	at   time.Time
	buf  []byte

	shared  *Validator
	f       *pdf.File
	entries []*entry
	dss     *dssData
	report  *Report
}

// entry is one signature dictionary found in the file, with what validation
// learns of it.
type entry struct {
	rep *SignatureReport

	field    string
	fieldRef pdf.Ref
	ref      pdf.Ref // the signature dictionary, zero when direct
	direct   bool
	dict     pdf.Dict
	defRev   int // revision index where the dictionary was defined

	// alg is the digest the CMS or token asks for over the byte ranges;
	// pending finishes the check once the digests are computed (all
	// signatures' digests are computed together, see digests.go).
	alg     digestAlg
	pending func(digest []byte, inFile bool) error
	digest  []byte
	inFile  bool

	br        byteRange
	brOK      bool
	signedRev int // revision index the byte range ends at, -1 if none
	contents  []byte

	verdict verdict
	// tokens are the valid timestamps proving this signature existed
	// (signature timestamps, or the document timestamp's own token).
	poe       []*poeToken
	tsaChains []tsaCheck
	signed    *signedInfo
	mdp       MDP
}

func (v *validator) run() (*Report, error) {
	v.report = &Report{Level: LevelNone}
	if err := v.ctx.Err(); err != nil {
		return nil, err
	}
	f, err := pdf.Open(v.r, v.size, nil)
	if err != nil {
		if !isDocumentError(err) {
			return nil, fmt.Errorf("signature: reading the PDF: %w", err)
		}
		v.report.Error = "the file could not be parsed as a PDF: " + err.Error()
		if err := v.byteScanFallback(); err != nil {
			return nil, err
		}
		v.finish()
		return v.report, nil
	}
	v.f = f
	v.report.Revisions = len(f.Revisions())
	v.entries = v.findSignatures()
	v.dss = v.readDSS()
	if err := v.checkAll(v.entries); err != nil {
		return nil, err
	}
	if err := v.longTerm(); err != nil {
		return nil, err
	}
	for _, e := range v.entries {
		v.conclude(e)
	}
	v.finish()
	return v.report, nil
}

// isDocumentError tells a problem of the document (reported) from a failure
// to read it (returned).
func isDocumentError(err error) bool {
	return errors.Is(err, pdf.ErrNotPDF) || errors.Is(err, pdf.ErrMalformed) || errors.Is(err, pdf.ErrLimit)
}

func (v *validator) finish() {
	rep := v.report
	rep.Signatures = rep.Signatures[:0]
	sort.SliceStable(v.entries, func(i, j int) bool { return v.entries[i].order() < v.entries[j].order() })
	for _, e := range v.entries {
		rep.Signatures = append(rep.Signatures, e.rep)
	}
	rep.Passed = len(rep.Signatures) > 0
	level := Level("")
	for _, s := range rep.Signatures {
		if s.Indication != TotalPassed {
			rep.Passed = false
		}
		if s.Kind == KindSignature {
			if level == "" || levelRank(s.Level) < levelRank(level) {
				level = s.Level
			}
		}
	}
	if level == "" {
		level = LevelNone
	}
	rep.Level = level
}

// order sorts entries in the order they were applied: by the end of their
// signed bytes, then by where their dictionary was defined.
func (e *entry) order() int64 {
	if e.brOK {
		return e.br.end
	}
	if len(e.rep.ByteRange) == 4 {
		return e.rep.ByteRange[2] + e.rep.ByteRange[3]
	}
	return int64(e.defRev) << 40
}

func levelRank(l Level) int {
	switch l {
	case LevelBB:
		return 1
	case LevelBT:
		return 2
	case LevelBLT:
		return 3
	case LevelBLTA:
		return 4
	}
	return 0
}
