package storage_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"gocloud.dev/blob/fileblob"

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
