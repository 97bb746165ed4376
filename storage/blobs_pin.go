package storage

import (
	"context"

	"gocloud.dev/gcerrors"

	"github.com/keiyaku/keiyaku/kerr"
)

// PinFunc is called by Put and PutBytes with the key of the bytes they
// are about to store (or find stored), before they store them; an error
// fails the Put. See SetPin.
type PinFunc func(ctx context.Context, key string) error

// SetPin makes every later Put and PutBytes call pin with the key first:
// the facade pins the key in the store (RetentionStore.PinBlob) so that
// the retention sweep never removes a blob between a writer storing (or
// finding) it and committing the row that names it. nil removes the pin.
// Call it before the Blobs are shared.
func (b *Blobs) SetPin(pin PinFunc) {
	if pin == nil {
		b.pin.Store(nil)
		return
	}
	b.pin.Store(&pin)
}

func (b *Blobs) pinKey(ctx context.Context, op, key string) error {
	if p := b.pin.Load(); p != nil {
		if err := (*p)(ctx, key); err != nil {
			return kerr.Wrap(op, err)
		}
	}
	return nil
}

// Delete removes the blob with key for good; a blob that is not there is
// not an error (a sweep resumed after a crash deletes again). Only the
// retention sweep calls it, after RetentionStore.BeginDeletion marked the
// key removing: content-addressed blobs are shared, and nothing else
// knows whether another case still names one. The directory is not
// synced: should a power cut undo the unlink, the blob is an orphan that
// no row names, which a later collection removes; nothing is lost.
func (b *Blobs) Delete(ctx context.Context, key string) error {
	const op = "storage.Blobs.Delete"
	if !ValidKey(key) {
		return kerr.E(kerr.Invalid, op, "%q is not a blob key", key)
	}
	err := b.bucket.Delete(ctx, blobPrefix+key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return blobErr(op, err)
	}
	return nil
}
