package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// RunBlobs checks storage.Blobs on a bucket: content addressing, the size
// limit, and that bytes changed behind its back are detected on every read
// path. newBucket must return a new, empty bucket; the suite tampers with
// objects through it directly and closes it.
func RunBlobs(t *testing.T, newBucket func(t *testing.T) *blob.Bucket) {
	ctx := context.Background()
	t.Run("ContentAddressed", func(t *testing.T) {
		b := storage.NewBlobs(newBucket(t))
		t.Cleanup(func() { _ = b.Close() })
		data := []byte("%PDF-1.7 契約書")
		sum := sha256.Sum256(data)
		key, n, err := b.Put(ctx, bytes.NewReader(data), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if key != hex.EncodeToString(sum[:]) || n != int64(len(data)) {
			t.Errorf("Put = %s, %d; want %x, %d", key, n, sum, len(data))
		}
		key2, _, err := b.Put(ctx, bytes.NewReader(data), 1<<20)
		if err != nil || key2 != key {
			t.Errorf("second Put = %s, %v", key2, err)
		}
		r, err := b.Open(ctx, key, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("read back %q, %v", got, err)
		}
		ra, err := b.ReaderAt(ctx, key, n)
		if err != nil {
			t.Fatal(err)
		}
		part := make([]byte, 4)
		if _, err := ra.ReadAt(part, 1); err != nil || string(part) != "PDF-" {
			t.Errorf("ReadAt = %q, %v", part, err)
		}
		tail := make([]byte, 10)
		if k, err := ra.ReadAt(tail, n-3); k != 3 || err != io.EOF {
			t.Errorf("ReadAt past the end = %d, %v; want 3, EOF", k, err)
		}
		if ok, err := b.Exists(ctx, key); !ok || err != nil {
			t.Errorf("Exists = %v, %v", ok, err)
		}
	})
	t.Run("Limit", func(t *testing.T) {
		bucket := newBucket(t)
		b := storage.NewBlobs(bucket)
		t.Cleanup(func() { _ = b.Close() })
		_, _, err := b.Put(ctx, strings.NewReader(strings.Repeat("x", 101)), 100)
		if !errors.Is(err, kerr.Invalid) {
			t.Fatalf("oversize Put err = %v, want Invalid", err)
		}
		if _, _, err := b.Put(ctx, strings.NewReader("x"), 0); !errors.Is(err, kerr.Invalid) {
			t.Errorf("Put with limit 0 err = %v", err)
		}
		if k, n, err := b.Put(ctx, strings.NewReader(strings.Repeat("x", 100)), 100); err != nil || n != 100 || k == "" {
			t.Errorf("Put at the limit = %s, %d, %v", k, n, err)
		}
		it := bucket.List(nil)
		count := 0
		for {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(obj.Key, ".attrs") {
				count++
			}
		}
		if count != 1 {
			t.Errorf("bucket holds %d objects after one refused and one good Put; want 1", count)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		bucket := newBucket(t)
		b := storage.NewBlobs(bucket)
		t.Cleanup(func() { _ = b.Close() })
		data := []byte("original contract bytes")
		key, n, err := b.Put(ctx, bytes.NewReader(data), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		forged := []byte("original contract byteZ") // same size
		if err := bucket.WriteAll(ctx, "sha256/"+key, forged, nil); err != nil {
			t.Fatal(err)
		}
		r, err := b.Open(ctx, key, n)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(r)
		r.Close()
		if !errors.Is(err, storage.ErrBlobCorrupt) || !errors.Is(err, kerr.Internal) {
			t.Errorf("reading a tampered blob: err = %v, want ErrBlobCorrupt", err)
		}
		if err := b.Verify(ctx, key, n); !errors.Is(err, storage.ErrBlobCorrupt) {
			t.Errorf("Verify: err = %v", err)
		}
		if _, err := b.ReaderAt(ctx, key, n); !errors.Is(err, storage.ErrBlobCorrupt) {
			t.Errorf("ReaderAt: err = %v", err)
		}
		if err := bucket.WriteAll(ctx, "sha256/"+key, append(data, '!'), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(ctx, key, n); !errors.Is(err, storage.ErrBlobCorrupt) {
			t.Errorf("Open of a blob with the wrong size: err = %v", err)
		}
	})
	t.Run("Large", func(t *testing.T) {
		// Past storage.MemoryBlob: Put streams through a temporary
		// object and ReaderAt serves range reads.
		bucket := newBucket(t)
		b := storage.NewBlobs(bucket)
		t.Cleanup(func() { _ = b.Close() })
		data := make([]byte, storage.MemoryBlob+123457)
		for i := range data {
			data[i] = byte(i*31 + i>>11)
		}
		sum := sha256.Sum256(data)
		key, n, err := b.Put(ctx, bytes.NewReader(data), int64(len(data)))
		if err != nil || key != hex.EncodeToString(sum[:]) || n != int64(len(data)) {
			t.Fatalf("Put = %s, %d, %v", key, n, err)
		}
		ra, err := b.ReaderAt(ctx, key, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []int64{0, 1, 32<<10 - 3, n / 2, n - 100} {
			for _, size := range []int{1, 100, 40 << 10} {
				got := make([]byte, size)
				k, err := ra.ReadAt(got, off)
				want := data[off:min(off+int64(size), n)]
				if k != len(want) || !bytes.Equal(got[:k], want) || (k < size) != (err == io.EOF) {
					t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", size, off, k, err)
				}
			}
		}
		it := bucket.List(nil)
		for {
			obj, err := it.Next(ctx)
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
		data[n/2] ^= 1
		if err := bucket.WriteAll(ctx, "sha256/"+key, data, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := b.ReaderAt(ctx, key, n); !errors.Is(err, storage.ErrBlobCorrupt) {
			t.Errorf("ReaderAt of a tampered large blob: err = %v, want ErrBlobCorrupt", err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		b := storage.NewBlobs(newBucket(t))
		t.Cleanup(func() { _ = b.Close() })
		key := strings.Repeat("0", 64)
		if _, err := b.Open(ctx, key, -1); !errors.Is(err, kerr.NotFound) {
			t.Errorf("Open(missing) err = %v, want NotFound", err)
		}
		if _, err := b.Open(ctx, "../../etc/passwd", -1); !errors.Is(err, kerr.Invalid) {
			t.Errorf("Open(bad key) err = %v, want Invalid", err)
		}
		if ok, err := b.Exists(ctx, key); ok || err != nil {
			t.Errorf("Exists(missing) = %v, %v", ok, err)
		}
	})
}
