package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"gocloud.dev/blob/fileblob"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// TestReaderAtBlocks: the block-cached ReaderAt returns exactly the
// stored bytes for small reads (served from cached blocks, across block
// boundaries), large reads (streamed), reads at the end and concurrent
// reads.
func TestReaderAtBlocks(t *testing.T) {
	ctx := context.Background()
	bucket, err := fileblob.OpenBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	blobs := storage.NewBlobs(bucket)
	defer blobs.Close()
	data := make([]byte, 300_001)
	rand.NewChaCha8([32]byte{7}).Read(data)
	key, size, err := blobs.Put(ctx, bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := blobs.ReaderAt(ctx, key, size)
	if err != nil {
		t.Fatal(err)
	}
	check := func(off int64, n int) {
		t.Helper()
		p := make([]byte, n)
		got, err := ra.ReadAt(p, off)
		want := data[min(off, int64(len(data))):min(off+int64(n), int64(len(data)))]
		if got != len(want) || !bytes.Equal(p[:got], want) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d bytes, differs from the stored bytes", n, off, got)
		}
		if (got < n) != (err == io.EOF) || (got == n && err != nil) {
			t.Fatalf("ReadAt(%d bytes at %d): n=%d err=%v", n, off, got, err)
		}
	}
	check(0, 10)
	check(32<<10-3, 10)    // across a block boundary
	check(100_000, 40_000) // large: streamed
	check(int64(len(data))-5, 10)
	check(int64(len(data)), 1)
	rng := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		offs := make([]int64, 200)
		for i := range offs {
			offs[i] = rng.Int64N(int64(len(data)))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, off := range offs {
				p := make([]byte, 100)
				n, _ := ra.ReadAt(p, off)
				if !bytes.Equal(p[:n], data[off:off+int64(n)]) {
					t.Errorf("concurrent ReadAt at %d differs", off)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestPutPaths: files up to 1 MiB are written once under their key; larger
// ones stream through a temporary object. Both give the same key for the
// same bytes, refuse more than the limit, and leave no temporary object.
func TestPutPaths(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bucket, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	blobs := storage.NewBlobs(bucket)
	defer blobs.Close()
	for _, size := range []int{0, 1, 1 << 20, 1<<20 + 1, 3 << 20} {
		data := make([]byte, size)
		rand.NewChaCha8([32]byte{byte(size)}).Read(data)
		sum := sha256.Sum256(data)
		key, n, err := blobs.Put(ctx, bytes.NewReader(data), 4<<20)
		if err != nil || key != hex.EncodeToString(sum[:]) || n != int64(size) {
			t.Fatalf("Put(%d bytes) = %s, %d, %v", size, key, n, err)
		}
		rc, err := blobs.Open(ctx, key, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes: %v", size, err)
		}
		if size > 0 {
			if _, _, err := blobs.Put(ctx, bytes.NewReader(data), int64(size-1)); kerr.Of(err) != kerr.Invalid {
				t.Fatalf("Put(%d bytes) over a limit of %d: %v", size, size-1, err)
			}
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := blobs.Put(cctx, bytes.NewReader([]byte("cancelled")), 100); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	iter := bucket.List(nil)
	for {
		obj, err := iter.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(obj.Key, "sha256/") {
			t.Errorf("left behind: %s", obj.Key)
		}
	}
}
