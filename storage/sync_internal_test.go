package storage

import (
	"context"
	"path/filepath"
	"testing"

	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
)

// TestSyncFindsTheFile: on a fileblob bucket the sync reaches the stored
// file itself (gocloud.dev hands it over through BeforeRead; were that to
// stop, blobs would silently lose their fsync); on a bucket without local
// files there is nothing to sync.
func TestSyncFindsTheFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bucket, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBlobs(bucket)
	defer b.Close()
	key, _, err := b.PutBytes(ctx, []byte("契約書"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.syncFile(ctx, blobPrefix+key)
	if want := filepath.Join(dir, "sha256", key); err != nil || got != want {
		t.Fatalf("syncFile = %q, %v; want %q", got, err, want)
	}
	mem := NewBlobs(memblob.OpenBucket(nil))
	defer mem.Close()
	key, _, err = mem.PutBytes(ctx, []byte("契約書"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := mem.syncFile(ctx, blobPrefix+key); err != nil || got != "" {
		t.Fatalf("memblob syncFile = %q, %v; want nothing to sync", got, err)
	}
	if !mem.noFiles.Load() || b.noFiles.Load() {
		t.Errorf("noFiles: memblob %v, fileblob %v; want true, false", mem.noFiles.Load(), b.noFiles.Load())
	}
}
