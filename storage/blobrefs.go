package storage

import (
	"context"

	"github.com/keiyaku/keiyaku/kerr"
)

// BlobRefStore answers the orphan-blob collector (Blobs.CollectOrphans):
// which blob keys stored rows name.
//
// A key is referenced once a committed case row has named it in any File
// (Document, Acceptance, Supplements, Sealed), in any version: a document
// a later version replaced stays referenced, since the audit log names it
// and nothing is deleted silently. Backends keep the set in a table
// (blob_refs, migration 00016) that triggers on the case bodies fill in
// the same transaction as the row, so no Go code path can forget it. A
// future table that names blobs outside case bodies must add its keys to
// blob_refs in the transaction that writes it, and whatever deletes blobs
// on purpose (a retention expiry) removes the keys it deletes.
type BlobRefStore interface {
	// BlobsReferenced returns the subset of keys (at most
	// MaxBlobRefBatch, each a valid blob key, see ValidKey) that stored
	// rows name. More keys, or a malformed one, is kerr.Invalid.
	BlobsReferenced(ctx context.Context, keys []string) (map[string]bool, error)
}

// MaxBlobRefBatch is how many keys one BlobsReferenced call may ask about.
const MaxBlobRefBatch = 1000

// CheckBlobRefs returns the kerr.Invalid error, under op, that every
// backend gives too many keys or a malformed one. Backends call it first.
func CheckBlobRefs(op string, keys []string) error {
	if len(keys) > MaxBlobRefBatch {
		return kerr.E(kerr.Invalid, op, "%d keys is more than %d: ask in batches", len(keys), MaxBlobRefBatch)
	}
	for _, k := range keys {
		if !ValidKey(k) {
			return kerr.E(kerr.Invalid, op, "%q is not a blob key (64 lower-case hex digits)", k)
		}
	}
	return nil
}
