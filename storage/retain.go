package storage

import (
	"context"
	"io"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/keiyaku/keiyaku/kerr"
)

// RetainFunc makes an object store keep the object being written until
// until (write once, read many: S3 Object Lock's compliance mode, for
// one): it is called with the As function of a write
// (blob.WriterOptions.BeforeWrite) or of a copy (blob.CopyOptions.
// BeforeCopy) and sets the driver's request fields. Package storage/s3lock
// has the one for S3.
type RetainFunc func(as func(any) bool, until time.Time) error

// SetRetain makes PutRetained and PutBytesRetained write with f; call it
// before the Blobs is used. nil (the default) writes without retention,
// as a bucket of files does in any case.
func (b *Blobs) SetRetain(f RetainFunc) { b.retain = f }

// PutRetained is Put, and the stored object is retained until until when
// SetRetain was given a RetainFunc: the store refuses to delete or
// overwrite it before (the sealed contracts and evidence records of a
// case, retained to its retention end). A blob already stored keeps the
// retention it has.
func (b *Blobs) PutRetained(ctx context.Context, r io.Reader, limit int64, until time.Time) (string, int64, error) {
	return b.put(ctx, r, limit, until)
}

// PutBytesRetained is PutBytes with the retention of PutRetained.
func (b *Blobs) PutBytesRetained(ctx context.Context, data []byte, until time.Time) (string, int64, error) {
	if len(data) > MemoryBlob {
		return "", 0, kerr.E(kerr.Invalid, "storage.Blobs.PutBytesRetained", "%d bytes is more than %d: use PutRetained", len(data), MemoryBlob)
	}
	return b.putSmall(ctx, data, until)
}

func (b *Blobs) writerOptions(until time.Time) *blob.WriterOptions {
	o := &blob.WriterOptions{ContentType: "application/octet-stream"}
	if b.retain != nil && !until.IsZero() {
		o.BeforeWrite = func(as func(any) bool) error { return b.retain(as, until) }
	}
	return o
}

func (b *Blobs) copyOptions(until time.Time) *blob.CopyOptions {
	if b.retain == nil || until.IsZero() {
		return nil
	}
	return &blob.CopyOptions{BeforeCopy: func(as func(any) bool) error { return b.retain(as, until) }}
}

// retained reports whether err is a store's refusal to change a retained
// object (S3 answers 403 AccessDenied).
func retained(err error) bool { return gcerrors.Code(err) == gcerrors.PermissionDenied }
