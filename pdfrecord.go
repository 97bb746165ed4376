package keiyaku

import (
	"context"
	"io"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/casework"
)

// verifyPDFRecord checks the evidence record ev of the sealed PDF f (read
// through ra, verified as v) with archive.VerifyPDFRecord: the record
// proves the PDF as sealed, a prefix of it once the renewal pass has
// added document timestamps.
func (s *Service) verifyPDFRecord(ctx context.Context, ra io.ReaderAt, f casework.File, v *archive.PDFVerification, ev casework.File) (*archive.FileVerification, error) {
	tr, err := s.Blobs.Open(ctx, ev.Key, ev.Size)
	if err != nil {
		return nil, err
	}
	der, err := io.ReadAll(io.LimitReader(tr, ers.MaxRecordSize+1))
	tr.Close()
	if err != nil {
		return nil, err
	}
	return s.Archive.VerifyPDFRecord(ctx, ra, f.Size, v.Report, der, nil)
}
