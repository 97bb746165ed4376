package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"time"

	"gocloud.dev/blob"

	"github.com/keiyaku/keiyaku/kerr"
)

// DefaultOrphanGrace is how old an unreferenced blob must be before
// CollectOrphans removes it, when the caller gives no other grace.
const DefaultOrphanGrace = 24 * time.Hour

// MinOrphanGrace is the least grace CollectOrphans accepts. The grace must
// exceed the longest time between a blob write (Blobs.Put, PutBytes) and
// the commit of the row naming it; see CollectOrphans.
const MinOrphanGrace = time.Hour

// orphanPage is how many objects CollectOrphans lists at a time.
const orphanPage = MaxBlobRefBatch

// OrphanReport says what one CollectOrphans pass did.
type OrphanReport struct {
	Listed     int   // objects listed
	Young      int   // objects not older than the grace: left alone
	Referenced int   // blobs some row names: kept
	Removed    int   // unreferenced blobs and stale temporary objects removed
	Bytes      int64 // their size
	Other      int   // objects that are neither blobs nor temporary: left alone
	Retained   int   // unreferenced blobs the store refused to remove (retained, SetRetain): left until their retention ends
}

// CollectOrphans removes the objects of the bucket that no row names and
// that are older than grace (measured from their modification time to
// now, the service clock): blobs whose key refs does not know (a process
// stopped between writing a blob and committing its row, or a refused
// request's upload), and temporary objects of writes that never finished.
// It pages through the bucket (orphanPage objects at a time, each page's
// keys asked of refs in one call), so memory does not grow with the
// bucket; objects neither blobs nor temporary are left alone.
//
// Why a blob written but not yet committed is safe: its modification time
// is the time of its last Put or PutBytes, which refresh an existing blob
// (a file's mtime is set, an object rewritten) before they return, so the
// blob stays younger than grace until its row commits, provided the
// commit follows the write within grace. Requests write their blobs and
// commit within one call (bounded by the server's request timeouts,
// minutes), so the assumption is: no more than grace (at least
// MinOrphanGrace, default DefaultOrphanGrace) passes between a blob write
// and the commit naming it. Each candidate's modification time is read
// again just before it is removed; a Put of the very same bytes in the
// moment between that read and the removal is the one window left (two
// requests, milliseconds apart), and needs an unreferenced blob older
// than grace with exactly those bytes.
//
// Errors: kerr.Invalid for a grace under MinOrphanGrace; what refs and
// the bucket return otherwise. Objects removed before an error stay
// removed; the next pass goes on.
func (b *Blobs) CollectOrphans(ctx context.Context, refs BlobRefStore, now time.Time, grace time.Duration) (OrphanReport, error) {
	const op = "storage.Blobs.CollectOrphans"
	var rep OrphanReport
	if grace < MinOrphanGrace {
		return rep, kerr.E(kerr.Invalid, op, "grace %v is less than %v", grace, MinOrphanGrace)
	}
	if refs == nil {
		return rep, kerr.E(kerr.Invalid, op, "no BlobRefStore given")
	}
	cutoff := now.Add(-grace)
	token := blob.FirstPageToken
	for {
		objs, next, err := b.bucket.ListPage(ctx, token, orphanPage, nil)
		if err != nil {
			return rep, blobErr(op, err)
		}
		var keys []string
		size := map[string]int64{}
		var stale []*blob.ListObject
		for _, o := range objs {
			if o.IsDir {
				continue
			}
			rep.Listed++
			if !o.ModTime.Before(cutoff) {
				rep.Young++
				continue
			}
			switch k, isBlob := strings.CutPrefix(o.Key, blobPrefix); {
			case isBlob && ValidKey(k):
				keys = append(keys, k)
				size[k] = o.Size
			case strings.HasPrefix(o.Key, tmpPrefix), isBlob && strings.HasSuffix(o.Key, ".tmp"):
				// Put's tmp/ objects, and the temporary files fileblob
				// writes beside a blob: a write that never finished.
				stale = append(stale, o)
			default:
				rep.Other++
			}
		}
		named, err := refs.BlobsReferenced(ctx, keys)
		if err != nil {
			return rep, kerr.Wrap(op, err)
		}
		for _, k := range keys {
			if named[k] {
				rep.Referenced++
				continue
			}
			removed, err := b.removeIfOld(ctx, blobPrefix+k, cutoff)
			if err == errRetained {
				rep.Retained++
				continue
			}
			if err != nil {
				return rep, kerr.Wrap(op, err)
			}
			if removed {
				rep.Removed++
				rep.Bytes += size[k]
			} else {
				rep.Young++
			}
		}
		for _, o := range stale {
			removed, err := b.removeIfOld(ctx, o.Key, cutoff)
			if err != nil {
				return rep, kerr.Wrap(op, err)
			}
			if removed {
				rep.Removed++
				rep.Bytes += o.Size
			} else {
				rep.Young++
			}
		}
		if len(next) == 0 {
			return rep, nil
		}
		token = next
	}
}

// errRetained is removeIfOld's answer for an object the store keeps.
var errRetained = errors.New("retained")

// removeIfOld deletes the object at key unless it was modified after
// cutoff (a Put refreshed it since it was listed) or is gone already.
func (b *Blobs) removeIfOld(ctx context.Context, key string, cutoff time.Time) (bool, error) {
	a, err := b.bucket.Attributes(ctx, key)
	if err != nil {
		if err := blobErr("", err); kerr.Of(err) == kerr.NotFound {
			return false, nil
		}
		return false, blobErr("storage.Blobs.removeIfOld", err)
	}
	if !a.ModTime.Before(cutoff) {
		return false, nil
	}
	if err := b.bucket.Delete(ctx, key); err != nil {
		if err := blobErr("", err); kerr.Of(err) == kerr.NotFound {
			return false, nil
		}
		if retained(err) {
			return false, errRetained
		}
		return false, blobErr("storage.Blobs.removeIfOld", err)
	}
	return true, nil
}

// refresh makes the stored blob at key (present, the same bytes) look
// freshly written to CollectOrphans: a local file gets the current mtime
// (the file system's own clock, as for any write); on an object store,
// where an object's modification time cannot be set, rewrite is called to
// write the object again.
func (b *Blobs) refresh(ctx context.Context, key string, rewrite func() error) error {
	path, err := b.syncFile(ctx, key)
	if err != nil {
		return err
	}
	if path == "" {
		// A retained object (SetRetain) may not be rewritten; it cannot be
		// removed either, so it needs no refresh.
		if err := rewrite(); err != nil && !retained(err) {
			return err
		}
		return nil
	}
	now := time.Now() // a file's mtime, as the kernel would set it on a write; not a service rule
	if err := os.Chtimes(path, now, now); err != nil {
		return kerr.WrapKind(kerr.Unavailable, "storage.Blobs.refresh", "touching "+path, err)
	}
	return nil
}

// Now returns the bucket's own clock: the modification time the bucket
// gives a marker object written now (under tmp/, removed again). The
// orphan grace is a matter of real time between a blob write and a
// commit, measured against modification times the bucket sets; reading
// now from the same clock keeps a skewed or simulated service clock from
// shortening it. Errors are the bucket's.
func (b *Blobs) Now(ctx context.Context) (time.Time, error) {
	const op = "storage.Blobs.Now"
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return time.Time{}, kerr.Wrap(op, err)
	}
	key := tmpPrefix + "now-" + hex.EncodeToString(nonce[:])
	if err := b.bucket.WriteAll(ctx, key, nil, nil); err != nil {
		return time.Time{}, blobErr(op, err)
	}
	defer func() { _ = b.bucket.Delete(context.WithoutCancel(ctx), key) }()
	a, err := b.bucket.Attributes(ctx, key)
	if err != nil {
		return time.Time{}, blobErr(op, err)
	}
	return a.ModTime, nil
}
