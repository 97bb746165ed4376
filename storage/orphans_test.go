package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cloud.google.com/go/civil"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs

	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// TestCollectOrphansFiles runs the orphan collection on the embedded
// default's bucket of files (as keiyaku.Open opens it).
func TestCollectOrphansFiles(t *testing.T) {
	dir := t.TempDir()
	u := url.URL{Scheme: "file", Path: dir, RawQuery: "metadata=skip&no_tmp_dir=true"}
	b, err := storage.OpenBlobs(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	raw, err := blob.OpenBucket(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	age := func(key string, d time.Duration) {
		t.Helper()
		p := filepath.Join(dir, "sha256", key)
		old := time.Now().Add(-d)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	testCollectOrphans(t, b, raw, age)
	// fileblob's own temporary file beside a blob, left by a crash inside
	// a write, is collected too.
	stray := filepath.Join(dir, "sha256", hex.EncodeToString(bytes.Repeat([]byte{0xab}, 32))+".18a2b3c4d5e6f708.tmp")
	if err := os.WriteFile(stray, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := b.CollectOrphans(context.Background(), emptyRefs{}, time.Now().Add(25*time.Hour), storage.DefaultOrphanGrace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) || rep.Removed == 0 {
		t.Errorf("fileblob temporary file left: %v (report %+v)", err, rep)
	}
}

// TestCollectOrphansS3 runs it on an S3 server (KEIYAKU_S3_URL; versitygw
// in .ci/run), in a fresh prefix of the bucket.
func TestCollectOrphansS3(t *testing.T) {
	s3url := testenv.Env(t, "KEIYAKU_S3_URL", `an S3 bucket URL, e.g. "s3://keiyaku-test?endpoint=http://127.0.0.1:7070&use_path_style=true&disable_https=true&region=us-east-1"`)
	raw, err := blob.OpenBucket(context.Background(), s3url)
	if err != nil {
		t.Fatal(err)
	}
	var p [8]byte
	rand.Read(p[:])
	raw = blob.PrefixedBucket(raw, "orphans-"+hex.EncodeToString(p[:])+"/")
	defer raw.Close()
	testCollectOrphans(t, storage.NewBlobs(raw), raw, nil)
}

type emptyRefs struct{}

func (emptyRefs) BlobsReferenced(context.Context, []string) (map[string]bool, error) {
	return map[string]bool{}, nil
}

// testCollectOrphans stores blobs named by a case in the real SQLite store
// (the current document, a replaced one, a supplement) and blobs no row
// names (left as by a crash between a blob write and its commit: a small
// one, a streamed one, an unfinished upload's temporary object), then
// collects: nothing younger than the grace is removed; after the grace
// every orphan is, every referenced blob stays and reads back intact.
// With age (a bucket of files), an old orphan written again by Put is
// refreshed and so survives until its row can commit.
func testCollectOrphans(t *testing.T, b *storage.Blobs, raw *blob.Bucket, age func(key string, d time.Duration)) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "keiyaku.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(s string) (string, int64) {
		t.Helper()
		k, n, err := b.PutBytes(ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return k, n
	}
	big := bytes.Repeat([]byte("孤立した大きなファイル "), 200_000) // > 1 MiB: streamed through tmp/
	bigSum := sha256.Sum256(big)
	kOld, nOld := put("契約書 v1")
	kDoc, nDoc := put("契約書 v2 (signed)")
	kSup, nSup := put("仕様書")
	kOrphan, _ := put("orphan: written, never committed")
	kBig, _, err := b.Put(ctx, bytes.NewReader(big), 8<<20)
	if err != nil || kBig != hex.EncodeToString(bigSum[:]) {
		t.Fatalf("Put big = %s, %v", kBig, err)
	}
	if err := raw.WriteAll(ctx, "tmp/0123456789abcdef0123456789abcdef", []byte("an upload cut short"), nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := &storage.Case{
		ID: "c1", Form: "bilateral", State: "sent", Category: "new", Name: "業務委託契約", Currency: "JPY",
		TransactionDate: civil.Date{Year: 2026, Month: 3, Day: 15}, RegistrantCompanyID: "co1", RegistrantUserID: "u1",
		Parties:   []storage.Party{{CompanyID: "co2", CompanyName: "株式会社サンプル", UserID: "u2"}},
		Document:  storage.File{Name: "contract.pdf", Key: kOld, Size: nOld},
		CreatedAt: now, UpdatedAt: now,
	}
	commitCase := func() {
		t.Helper()
		if err := st.CommitCase(ctx, &storage.CaseCommit{Case: c, Audit: []storage.AuditEntry{{Time: now, ActorUserID: "u1", Action: "case.x", CaseID: c.ID}}}); err != nil {
			t.Fatal(err)
		}
	}
	commitCase()
	c.Document = storage.File{Name: "contract.pdf", Key: kDoc, Size: nDoc} // kOld replaced, still named by version 1
	c.Supplements = []storage.File{{Name: "spec.pdf", Key: kSup, Size: nSup}}
	commitCase()

	exists := func(key string) bool {
		t.Helper()
		ok, err := b.Exists(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	tmpExists := func() bool {
		ok, err := raw.Exists(ctx, "tmp/0123456789abcdef0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if _, err := b.CollectOrphans(ctx, st, now, time.Minute); !errors.Is(err, kerr.Invalid) {
		t.Errorf("grace of a minute: %v, want Invalid", err)
	}
	// Within the grace: nothing goes.
	rep, err := b.CollectOrphans(ctx, st, now.Add(23*time.Hour), storage.DefaultOrphanGrace)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 0 || rep.Listed != 6 || rep.Young != 6 || !exists(kOrphan) || !exists(kBig) || !tmpExists() {
		t.Fatalf("within the grace: %+v; orphan kept %v, big kept %v", rep, exists(kOrphan), exists(kBig))
	}
	var kAged, kRefreshed string
	if age != nil {
		// An orphan aged past the grace goes; one aged and then written
		// again (a new request storing the same bytes) is fresh again.
		kAged, _ = put("aged orphan")
		kRefreshed, _ = put("aged orphan, stored again")
		age(kAged, 48*time.Hour)
		age(kRefreshed, 48*time.Hour)
		put("aged orphan, stored again")
		rep, err := b.CollectOrphans(ctx, st, time.Now().Add(30*time.Minute), storage.MinOrphanGrace)
		if err != nil {
			t.Fatal(err)
		}
		if exists(kAged) || !exists(kRefreshed) || rep.Removed != 1 {
			t.Errorf("aged orphan kept %v, refreshed one kept %v (want false, true); %+v", exists(kAged), exists(kRefreshed), rep)
		}
	}
	// After the grace: the orphans go, the referenced blobs stay.
	rep, err = b.CollectOrphans(ctx, st, time.Now().Add(25*time.Hour), storage.DefaultOrphanGrace)
	if err != nil {
		t.Fatal(err)
	}
	if exists(kOrphan) || exists(kBig) || tmpExists() {
		t.Errorf("after the grace: orphan kept %v, big orphan kept %v, temporary object kept %v; %+v", exists(kOrphan), exists(kBig), tmpExists(), rep)
	}
	if age != nil && exists(kRefreshed) {
		t.Errorf("the refreshed orphan outlived the grace")
	}
	if rep.Referenced != 3 || rep.Other != 0 {
		t.Errorf("report %+v, want 3 referenced", rep)
	}
	for _, f := range []storage.File{{Key: kOld, Size: nOld}, c.Document, c.Supplements[0]} {
		if err := b.Verify(ctx, f.Key, f.Size); err != nil {
			t.Errorf("referenced blob %s: %v", f.Key, err)
		}
	}
	// The bucket's clock: close to this machine's, and no marker left.
	bnow, err := b.Now(ctx)
	if err != nil || bnow.Sub(time.Now()).Abs() > time.Minute {
		t.Errorf("Blobs.Now = %v, %v; this machine says %v", bnow, err, time.Now())
	}
	// A second pass finds nothing more.
	rep, err = b.CollectOrphans(ctx, st, time.Now().Add(25*time.Hour), storage.DefaultOrphanGrace)
	if err != nil || rep.Removed != 0 || rep.Listed != 3 {
		t.Errorf("second pass: %+v, %v", rep, err)
	}
}
