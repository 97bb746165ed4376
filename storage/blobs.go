package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"github.com/keiyaku/keiyaku/internal/fifo"
	"hash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs, the embedded default
	"gocloud.dev/gcerrors"

	"github.com/keiyaku/keiyaku/kerr"
)

// ErrBlobCorrupt is the cause of the error a blob read returns when the
// stored bytes do not hash to their key (or are not the recorded size):
// somebody or something changed the file. The error is of kind kerr.Internal.
var ErrBlobCorrupt = errors.New("blob content does not match its SHA-256 key")

// Blobs is content-addressed storage for document bytes on a
// gocloud.dev/blob bucket: a blob's key is the lower-case hex SHA-256 of its
// bytes, and reads check the bytes against the key. Blobs is safe for
// concurrent use.
type Blobs struct {
	bucket *blob.Bucket
	// noFiles is set once a sync finds the driver keeps no local files
	// (object stores): later syncs skip the request that found out.
	noFiles atomic.Bool
	// retain sets the retention of objects written by PutRetained; nil
	// means none (SetRetain).
	retain RetainFunc
	// pin, when set, is called with a key before it is stored or found
	// (SetPin).
	pin atomic.Pointer[PinFunc]
}

// Blob keys are stored under this prefix; uploads in progress under tmp/.
const (
	blobPrefix = "sha256/"
	tmpPrefix  = "tmp/"
)

// OpenBlobs opens the bucket at rawURL, e.g.
// "file:///var/lib/keiyaku/blobs?metadata=skip&no_tmp_dir=true"
// (fileblob; the directory must exist; metadata=skip saves a sidecar file
// per blob, as Blobs keeps no metadata in the bucket; no_tmp_dir writes
// each blob's temporary file beside it, so the final rename never crosses
// file systems) or "s3://bucket" when the embedder links the s3blob
// driver. See gocloud.dev/blob.OpenBucket.
//
// Put and PutBytes return once the blob is durable: on a bucket of local
// files (fileblob) they fsync the file and its directory, so that a row
// committed afterwards never names a blob a power cut can take away;
// object stores are durable when a write succeeds. A file:// URL gets
// no_tmp_dir=true if it does not say otherwise: a temporary file in
// os.TempDir could not be renamed into a bucket on another file system.
func OpenBlobs(ctx context.Context, rawURL string) (*Blobs, error) {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "file" {
		q := u.Query()
		if !q.Has("no_tmp_dir") {
			q.Set("no_tmp_dir", "true")
			u.RawQuery = q.Encode()
			rawURL = u.String()
		}
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, "storage.OpenBlobs", "cannot open bucket "+rawURL, err)
	}
	return &Blobs{bucket: b}, nil
}

// NewBlobs uses an open bucket. Close closes it.
func NewBlobs(b *blob.Bucket) *Blobs { return &Blobs{bucket: b} }

// Close closes the bucket.
func (b *Blobs) Close() error { return kerr.Wrap("storage.Blobs.Close", b.bucket.Close()) }

// Put stores the bytes of r, at most limit bytes (limit > 0), and returns
// their key and size. Storing bytes already present is not an error and
// yields the same key. More than limit bytes is kerr.Invalid, and nothing
// is stored. Put streams: the bytes go to a temporary object while they are
// hashed, which is then copied to its key, so memory use does not depend on
// the size.
func (b *Blobs) Put(ctx context.Context, r io.Reader, limit int64) (key string, size int64, err error) {
	return b.put(ctx, r, limit, time.Time{})
}

// put is Put; a non-zero until retains the object (see PutRetained).
func (b *Blobs) put(ctx context.Context, r io.Reader, limit int64, until time.Time) (key string, size int64, err error) {
	const op = "storage.Blobs.Put"
	if limit <= 0 {
		return "", 0, kerr.E(kerr.Invalid, op, "limit %d must be positive", limit)
	}
	lr := io.LimitReader(r, limit+1)
	// Small files (most contracts) are read whole, hashed and written once
	// under their key: no temporary object, no copy. Larger ones stream.
	head, err := io.ReadAll(io.LimitReader(lr, smallBlob+1))
	if err != nil {
		return "", 0, kerr.Wrap(op, err)
	}
	if int64(len(head)) > limit {
		return "", 0, kerr.E(kerr.Invalid, op, "the file is larger than the limit of %d bytes", limit)
	}
	if len(head) <= smallBlob {
		return b.putSmall(ctx, head, until)
	}
	r = io.MultiReader(bytes.NewReader(head), lr)
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", 0, kerr.Wrap(op, err)
	}
	tmp := tmpPrefix + hex.EncodeToString(nonce[:])
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.bucket.NewWriter(wctx, tmp, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return "", 0, blobErr(op, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err == nil && n > limit {
		err = kerr.E(kerr.Invalid, op, "the file is larger than the limit of %d bytes", limit)
	}
	if err != nil {
		cancel() // a cancelled writer discards what it wrote
		_ = w.Close()
		_ = b.bucket.Delete(context.WithoutCancel(ctx), tmp)
		if kerr.Of(err) == kerr.Invalid {
			return "", 0, err
		}
		return "", 0, kerr.Wrap(op, err)
	}
	if err := w.Close(); err != nil {
		_ = b.bucket.Delete(context.WithoutCancel(ctx), tmp)
		return "", 0, blobErr(op, err)
	}
	defer func() { _ = b.bucket.Delete(context.WithoutCancel(ctx), tmp) }()
	key = hex.EncodeToString(h.Sum(nil))
	if err := b.pinKey(ctx, op, key); err != nil {
		return "", 0, err
	}
	// The same bytes stored before need no copy: the key is their hash.
	// (Should the stored copy have been tampered with, reads detect it.)
	// Stored before: refreshed (see putSmall) rather than copied, on a
	// bucket of files; copied again on an object store.
	copyTmp := func() error { return blobErr(op, b.bucket.Copy(ctx, blobPrefix+key, tmp, b.copyOptions(until))) }
	if ok, err := b.bucket.Exists(ctx, blobPrefix+key); err != nil || !ok {
		if err := copyTmp(); err != nil {
			return "", 0, err
		}
		if err := b.sync(ctx, blobPrefix+key); err != nil {
			return "", 0, kerr.Wrap(op, err)
		}
	} else if err := b.refresh(ctx, blobPrefix+key, copyTmp); err != nil {
		return "", 0, kerr.Wrap(op, err)
	}
	return key, n, nil
}

// smallBlob is the size up to which Put holds a file in memory to write it
// once under its key.
const smallBlob = 1 << 20

func (b *Blobs) putSmall(ctx context.Context, data []byte, until time.Time) (string, int64, error) {
	const op = "storage.Blobs.Put"
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	if err := b.pinKey(ctx, op, key); err != nil {
		return "", 0, err
	}
	if ok, err := b.bucket.Exists(ctx, blobPrefix+key); err == nil && ok {
		// Stored before, perhaps by a write a crash cut short of its sync,
		// perhaps an orphan: refreshed (synced, and its modification time
		// renewed), so that CollectOrphans leaves it to the row about to
		// name it.
		if err := b.refresh(ctx, blobPrefix+key, func() error { return b.write(ctx, key, data, until) }); err != nil {
			return "", 0, kerr.Wrap(op, err)
		}
		return key, int64(len(data)), nil
	}
	if err := b.write(ctx, key, data, until); err != nil {
		return "", 0, err
	}
	return key, int64(len(data)), nil
}

// write writes data under key (its hash) and makes it durable.
func (b *Blobs) write(ctx context.Context, key string, data []byte, until time.Time) error {
	const op = "storage.Blobs.Put"
	// Drivers write an object whole or not at all (fileblob through a
	// temporary file and a rename), so the key never names half a file.
	// Not WriteAll: it hashes the bytes with MD5 twice for an integrity
	// check the SHA-256 key already gives (3% of a lifecycle's CPU).
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.bucket.NewWriter(wctx, blobPrefix+key, b.writerOptions(until))
	if err != nil {
		return blobErr(op, err)
	}
	if _, err := w.Write(data); err != nil {
		cancel() // a cancelled writer discards what it wrote
		_ = w.Close()
		return blobErr(op, err)
	}
	if err := w.Close(); err != nil {
		return blobErr(op, err)
	}
	if err := b.sync(ctx, blobPrefix+key); err != nil {
		return kerr.Wrap(op, err)
	}
	return nil
}

// ValidKey reports whether key has the form of a blob key.
func ValidKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	for _, c := range []byte(key) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Open returns a reader of the blob with key, expected to be size bytes
// (size < 0: not checked). The reader checks the bytes as they stream: the
// Read that reaches the end returns an error wrapping ErrBlobCorrupt
// instead of io.EOF if they do not hash to key, so a caller that reads to
// io.EOF has read exactly the stored bytes. A missing blob is kerr.NotFound.
func (b *Blobs) Open(ctx context.Context, key string, size int64) (io.ReadCloser, error) {
	const op = "storage.Blobs.Open"
	if !ValidKey(key) {
		return nil, kerr.E(kerr.Invalid, op, "%q is not a blob key (64 lower-case hex digits)", key)
	}
	r, err := b.bucket.NewReader(ctx, blobPrefix+key, nil)
	if err != nil {
		return nil, blobErr(op, err)
	}
	if size >= 0 && r.Size() != size {
		_ = r.Close()
		return nil, kerr.E(kerr.Internal, op, "blob %s is %d bytes, recorded as %d: %w", key, r.Size(), size, ErrBlobCorrupt)
	}
	return &verifyingReader{r: r, h: sha256.New(), key: key}, nil
}

// MemoryBlob is the size up to which ReaderAt holds a blob in memory, and
// up to which callers may use ReadAll and PutBytes. 4 MiB holds nearly
// every contract PDF; a service validating n uploads at once needs n times
// this at most.
const MemoryBlob = 4 << 20

// ReadAll returns the bytes of the blob with key, which must be size bytes
// and at most MemoryBlob, checked against the key (ErrBlobCorrupt).
func (b *Blobs) ReadAll(ctx context.Context, key string, size int64) ([]byte, error) {
	const op = "storage.Blobs.ReadAll"
	if size < 0 || size > MemoryBlob {
		return nil, kerr.E(kerr.Invalid, op, "size %d is not within 0..%d: stream it with Open", size, MemoryBlob)
	}
	r, err := b.Open(ctx, key, size)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data := make([]byte, size+1) // one more, to read to io.EOF and so run the check
	n, err := io.ReadFull(r, data)
	switch {
	case err == io.ErrUnexpectedEOF && int64(n) == size:
		return data[:n], nil
	case err == nil:
		return nil, kerr.E(kerr.Internal, op, "blob %s is longer than the %d bytes recorded: %w", key, size, ErrBlobCorrupt)
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return nil, kerr.E(kerr.Internal, op, "blob %s is %d bytes, recorded as %d: %w", key, n, size, ErrBlobCorrupt)
	}
	return nil, kerr.Wrap(op, err)
}

// PutBytes stores data, at most MemoryBlob bytes, written once under its
// key (no temporary object), and returns the key and size. Storing bytes
// already present is not an error and yields the same key.
func (b *Blobs) PutBytes(ctx context.Context, data []byte) (key string, size int64, err error) {
	if len(data) > MemoryBlob {
		return "", 0, kerr.E(kerr.Invalid, "storage.Blobs.PutBytes", "%d bytes is more than %d: use Put", len(data), MemoryBlob)
	}
	return b.putSmall(ctx, data, time.Time{})
}

// Verify reads the whole blob and returns nil if it is intact, an error
// wrapping ErrBlobCorrupt if not, kerr.NotFound if it is missing.
func (b *Blobs) Verify(ctx context.Context, key string, size int64) error {
	r, err := b.Open(ctx, key, size)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

// ReaderAt returns random access to a blob for readers that need it
// (validation, io.ReaderAt + size). Random reads cannot be checked against
// the key, so ReaderAt first verifies the whole blob (see Verify); the
// bytes may only change afterwards by tampering during the read itself.
// A blob of at most MemoryBlob bytes is read once, checked, and served
// from memory (one read of the file instead of a check pass and then range
// reads); a larger one is served by range reads, a few blocks cached.
func (b *Blobs) ReaderAt(ctx context.Context, key string, size int64) (io.ReaderAt, error) {
	if size >= 0 && size <= MemoryBlob {
		data, err := b.ReadAll(ctx, key, size)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(data), nil
	}
	if err := b.Verify(ctx, key, size); err != nil {
		return nil, err
	}
	return &rangeReaderAt{ctx: ctx, b: b.bucket, key: blobPrefix + key, size: size, blocks: fifo.New[int64, []byte](readBlocks)}, nil
}

// Exists reports whether the blob with key is stored.
func (b *Blobs) Exists(ctx context.Context, key string) (bool, error) {
	if !ValidKey(key) {
		return false, kerr.E(kerr.Invalid, "storage.Blobs.Exists", "%q is not a blob key", key)
	}
	ok, err := b.bucket.Exists(ctx, blobPrefix+key)
	return ok, blobErr("storage.Blobs.Exists", err)
}

type verifyingReader struct {
	r   *blob.Reader
	h   hash.Hash
	key string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(v.h.Sum(nil)) != v.key {
		return n, kerr.E(kerr.Internal, "storage.Blobs.Read", "blob %s: %w", v.key, ErrBlobCorrupt)
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.r.Close() }

// rangeReaderAt implements io.ReaderAt over range requests; gocloud.dev/blob
// readers only seek. A PDF parser reads many small pieces close together
// (objects, cross-reference sections), so small reads are served from a
// few cached blocks of readBlock bytes; large reads (hashing) go straight
// to the bucket and stay streamed. Memory: at most readBlocks*readBlock.
type rangeReaderAt struct {
	ctx  context.Context
	b    *blob.Bucket
	key  string
	size int64

	blocks *fifo.Map[int64, []byte] // block index -> bytes
}

const (
	readBlock  = 32 << 10
	readBlocks = 8
)

func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, kerr.E(kerr.Invalid, "storage.Blobs.ReadAt", "negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := int64(len(p))
	if off+want > r.size {
		want = r.size - off
	}
	var n int64
	if want > readBlock/2 {
		m, err := r.fetch(p[:want], off)
		n = int64(m)
		if err != nil {
			return m, err
		}
	} else {
		for n < want {
			blk, err := r.block((off + n) / readBlock)
			if err != nil {
				return int(n), err
			}
			n += int64(copy(p[n:want], blk[(off+n)%readBlock:]))
		}
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// block returns block i, from the cache or the bucket.
func (r *rangeReaderAt) block(i int64) ([]byte, error) {
	if b, ok := r.blocks.Get(i); ok {
		return b, nil
	}
	start := i * readBlock
	b := make([]byte, min(readBlock, r.size-start))
	if _, err := r.fetch(b, start); err != nil {
		return nil, err
	}
	return r.blocks.Add(i, b), nil
}

// fetch reads exactly len(p) bytes at off with one range request.
func (r *rangeReaderAt) fetch(p []byte, off int64) (int, error) {
	rr, err := r.b.NewRangeReader(r.ctx, r.key, off, int64(len(p)), nil)
	if err != nil {
		return 0, blobErr("storage.Blobs.ReadAt", err)
	}
	defer rr.Close()
	n, err := io.ReadFull(rr, p)
	if err != nil {
		return n, kerr.Wrap("storage.Blobs.ReadAt", err)
	}
	return n, nil
}

func blobErr(op string, err error) error {
	if err == nil {
		return nil
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return kerr.WrapKind(kerr.NotFound, op, "blob not found", err)
	case gcerrors.InvalidArgument:
		return kerr.WrapKind(kerr.Invalid, op, "", err)
	case gcerrors.Canceled, gcerrors.DeadlineExceeded, gcerrors.ResourceExhausted:
		return kerr.WrapKind(kerr.Unavailable, op, "", err)
	case gcerrors.PermissionDenied:
		return kerr.WrapKind(kerr.Internal, op, "the service may not access the blob bucket", err)
	}
	return kerr.Wrap(op, err)
}

// sync makes the stored object key durable when the bucket keeps it in a
// local file: it fsyncs the file (its bytes) and then its directory (the
// name the rename gave it). gocloud.dev/blob has no sync call; fileblob
// hands its *os.File to BeforeRead, and an fsync through a read-only
// descriptor flushes the file all the same. Other drivers are durable
// once a write returns, and give no file: nothing to do.
func (b *Blobs) sync(ctx context.Context, key string) error {
	_, err := b.syncFile(ctx, key)
	return err
}

// syncFile is sync; it returns the path of the file it synced, "" if the
// driver keeps no local file.
func (b *Blobs) syncFile(ctx context.Context, key string) (string, error) {
	if b.noFiles.Load() {
		return "", nil
	}
	var f *os.File
	r, err := b.bucket.NewRangeReader(ctx, key, 0, 0, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		as(&f)
		return nil
	}})
	if err != nil {
		return "", blobErr("storage.Blobs.sync", err)
	}
	defer r.Close()
	if f == nil {
		b.noFiles.Store(true) // a bucket's driver does not change
		return "", nil
	}
	if err := f.Sync(); err != nil {
		return "", kerr.WrapKind(kerr.Unavailable, "storage.Blobs.sync", "fsync "+f.Name(), err)
	}
	d, err := os.Open(filepath.Dir(f.Name()))
	if err != nil {
		return "", kerr.WrapKind(kerr.Unavailable, "storage.Blobs.sync", "opening the blob directory", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return "", kerr.WrapKind(kerr.Unavailable, "storage.Blobs.sync", "fsync "+d.Name(), err)
	}
	return f.Name(), nil
}
