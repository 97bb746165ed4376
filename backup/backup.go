// Package backup takes and restores backups of the embedded default: the
// SQLite database, the blob directory and the local TSA's files of one
// data directory (keiyaku.Config.Dir), while the service runs.
//
// Consistency: Take copies the database first, as one snapshot (SQLite's
// VACUUM INTO, which reads one transaction while writers go on), and the
// blobs after. Blobs are written (and synced) before the rows that name
// them commit, are keyed by their SHA-256 and never change, and a blob
// once named by a committed row is never removed (orphan collection
// removes only blobs no row has ever named, storage.BlobRefStore). So
// every blob the snapshot names is on disk before the snapshot is taken
// and still there when the blobs are copied: the backup lacks none. Blobs
// written after the snapshot are copied too, named by no row of the
// backup: harmless (orphans, collected after the grace once restored).
// The opposite order would not be safe: a row committed between copying
// blobs and copying the database could name a blob the backup lacks.
// Check proves it after a restore: every blob the database names is
// present and intact.
//
// The TSA's serial file is restored with a margin (SerialMargin): tokens
// issued after the backup was taken keep their serials unique.
//
// PostgreSQL and S3 deployments are backed up with their own tools in
// the same order (pg_dump, then a copy of the bucket); see
// docs/operations.md.
package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Names inside a data directory and a backup.
const (
	dbName       = "keiyaku.db"
	blobsDir     = "blobs"
	blobsSub     = "sha256"
	manifestName = "BACKUP.json"
)

// SerialMargin is added to the TSA serial file on restore: the local TSA
// reserves serials in blocks (timestamp.SerialBlock) before use, so the
// file is ahead of every serial issued before the backup, but the service
// may have issued more between the backup and the loss; 2^32 more than it
// could in its lifetime.
const SerialMargin = 1 << 32

// Manifest describes a backup; Take writes it last, so a backup without
// one is incomplete.
type Manifest struct {
	// Taken is when the database snapshot was taken (the caller's clock).
	Taken time.Time `json:"taken"`
	// Database is the snapshot's size in bytes; Blobs and BlobBytes the
	// blobs copied into the backup directory in all (a later backup into
	// the same directory copies only the new ones).
	Database  int64 `json:"database_bytes"`
	Blobs     int   `json:"blobs"`
	BlobBytes int64 `json:"blob_bytes"`
	// Copied is how many blobs this run copied; the rest were there.
	Copied int `json:"copied"`
	// Files are the other files copied (the TSA's, the demo CA's).
	Files []string `json:"files"`
}

// Take backs up the data directory dir into out (created if missing):
// the database snapshot first, then every blob not yet in out (checked
// against its key as it is copied), then the other files (TSA key,
// certificate and serial file) except tmp/, then the manifest. out may
// hold an earlier backup of the same directory: its database is replaced
// and only new blobs are copied. now stamps the manifest.
//
// Errors: kerr.Invalid when dir holds no database or out is inside dir;
// kerr.Internal wrapping storage.ErrBlobCorrupt for a blob in dir whose
// bytes do not match its key (nothing is written for it; fix or restore
// it, then take the backup again); kerr.Unavailable for I/O failures.
func Take(ctx context.Context, dir, out string, now time.Time) (*Manifest, error) {
	const op = "backup.Take"
	src := filepath.Join(dir, dbName)
	if _, err := os.Stat(src); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, dir+" is not a data directory of the embedded default (no "+dbName+")", err)
	}
	if rel, err := filepath.Rel(dir, out); err == nil && !strings.HasPrefix(rel, "..") {
		return nil, kerr.E(kerr.Invalid, op, "the backup directory %s may not be inside the data directory %s", out, dir)
	}
	if err := os.MkdirAll(filepath.Join(out, blobsDir, blobsSub), 0o700); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "creating "+out, err)
	}
	// A backup being replaced is incomplete until the new manifest.
	if err := os.Remove(filepath.Join(out, manifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "", err)
	}
	m := &Manifest{Taken: now.UTC()}
	var err error
	if m.Database, err = snapshot(ctx, src, filepath.Join(out, dbName)); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if err := copyBlobs(ctx, filepath.Join(dir, blobsDir), filepath.Join(out, blobsDir), m); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if m.Files, err = copyOthers(dir, out); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileSync(filepath.Join(out, manifestName), append(data, '\n')); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "writing the manifest", err)
	}
	return m, nil
}

// snapshot writes a consistent copy of the database at src to dst with
// VACUUM INTO (one read transaction: writers go on meanwhile) and syncs
// it; it returns its size.
func snapshot(ctx context.Context, src, dst string) (int64, error) {
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, kerr.WrapKind(kerr.Unavailable, "", "removing the old snapshot", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	db, err := sql.Open("sqlite", "file:"+src+"?"+q.Encode())
	if err != nil {
		return 0, kerr.WrapKind(kerr.Unavailable, "", "opening "+src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return 0, kerr.WrapKind(kerr.Unavailable, "", "VACUUM INTO "+dst, err)
	}
	return syncFile(dst)
}

// copyBlobs copies the blobs under src/sha256 missing from dst/sha256,
// each checked against its key, and counts them into m.
func copyBlobs(ctx context.Context, src, dst string, m *Manifest) error {
	entries, err := os.ReadDir(filepath.Join(src, blobsSub))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return kerr.WrapKind(kerr.Unavailable, "", "listing blobs", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return kerr.WrapKind(kerr.Unavailable, "", "", err)
		}
		key := e.Name()
		if !e.Type().IsRegular() || !storage.ValidKey(key) {
			continue // fileblob's temporary files, sidecars
		}
		from, to := filepath.Join(src, blobsSub, key), filepath.Join(dst, blobsSub, key)
		n, copied, err := copyBlob(from, to, key)
		if err != nil {
			return err
		}
		m.Blobs++
		m.BlobBytes += n
		if copied {
			m.Copied++
		}
	}
	return syncDir(filepath.Join(dst, blobsSub))
}

// copyBlob copies one blob unless to holds it already (the same size: a
// blob's name is its hash, and Check verifies the bytes), hashing the
// bytes on the way; a blob not matching its key is refused.
func copyBlob(from, to, key string) (int64, bool, error) {
	if fi, err := os.Stat(to); err == nil {
		if si, err := os.Stat(from); err == nil && si.Size() == fi.Size() {
			return fi.Size(), false, nil
		}
	}
	f, err := os.Open(from)
	if err != nil {
		return 0, false, kerr.WrapKind(kerr.Unavailable, "", "", err)
	}
	defer f.Close()
	tmp := to + ".part"
	w, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, false, kerr.WrapKind(kerr.Unavailable, "", "", err)
	}
	defer os.Remove(tmp) // a no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, false, kerr.WrapKind(kerr.Unavailable, "", "copying blob "+key, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != key {
		return 0, false, kerr.E(kerr.Internal, "", "blob %s in %s: %w", key, from, storage.ErrBlobCorrupt)
	}
	if err := os.Rename(tmp, to); err != nil {
		return 0, false, kerr.WrapKind(kerr.Unavailable, "", "", err)
	}
	return n, true, nil
}

// copyOthers copies the files of dir other than the database, blobs, the
// spool (tmp/) and a manifest: the TSA's and the demo CA's.
func copyOthers(dir, out string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		top := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
		switch {
		case rel == ".":
			return nil
		case top == blobsDir || top == "tmp":
			return filepath.SkipDir
		case strings.HasPrefix(top, dbName) || top == manifestName:
			return nil
		case d.IsDir():
			return os.MkdirAll(filepath.Join(out, rel), 0o700)
		case !d.Type().IsRegular():
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := writeFileSync(filepath.Join(out, rel), data); err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, "", "copying the TSA files", err)
	}
	return files, nil
}

// Restore rebuilds a data directory dir from the backup in from: dir
// must hold no database (a new place, or an emptied one). It copies the
// snapshot, the blobs (checked against their keys) and the other files,
// raises the TSA serial file by SerialMargin, and then runs Check.
//
// Errors: kerr.Invalid when from holds no complete backup (no manifest)
// or dir holds a database already; kerr.Internal when Check finds a blob
// missing or corrupt; kerr.Unavailable for I/O failures.
func Restore(ctx context.Context, from, dir string) (*CheckReport, error) {
	const op = "backup.Restore"
	data, err := os.ReadFile(filepath.Join(from, manifestName))
	if err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, from+" holds no complete backup (no "+manifestName+")", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "the manifest of "+from, err)
	}
	if _, err := os.Stat(filepath.Join(dir, dbName)); err == nil {
		return nil, kerr.E(kerr.Invalid, op, "%s holds a database already: restore into a new directory", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, blobsDir, blobsSub), 0o700); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "creating "+dir, err)
	}
	db, err := os.ReadFile(filepath.Join(from, dbName))
	if err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "the backup's database", err)
	}
	if err := writeFileSync(filepath.Join(dir, dbName), db); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "", err)
	}
	var copied Manifest
	if err := copyBlobs(ctx, filepath.Join(from, blobsDir), filepath.Join(dir, blobsDir), &copied); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if _, err := copyOthers(from, dir); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if err := raiseSerial(filepath.Join(dir, "tsa", "serial")); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	rep, err := Check(ctx, dir)
	if err != nil {
		return rep, kerr.Wrap(op, err)
	}
	return rep, nil
}

// raiseSerial adds SerialMargin to the TSA serial file at path, if any.
func raiseSerial(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return kerr.WrapKind(kerr.Unavailable, "", "", err)
	}
	n, ok := new(big.Int).SetString(strings.TrimSpace(string(data)), 10)
	if !ok || n.Sign() < 0 {
		return kerr.E(kerr.Invalid, "", "the TSA serial file %s does not hold a serial", path)
	}
	n.Add(n, big.NewInt(SerialMargin))
	if err := writeFileSync(path, []byte(n.String()+"\n")); err != nil {
		return kerr.WrapKind(kerr.Unavailable, "", "", err)
	}
	return nil
}

// CheckReport is what Check found.
type CheckReport struct {
	Referenced int      // blobs the database names
	Present    int      // blobs in the directory
	Missing    []string // named, not present (at most 100 listed)
	Corrupt    []string // present, not matching their key (at most 100 listed)
}

// Check verifies a data directory of the embedded default: every blob its
// database names (blob_refs, storage.BlobRefStore) is present and its
// bytes match its key. It returns kerr.Internal wrapping
// storage.ErrBlobCorrupt when one is missing or corrupt (the report lists
// them), kerr.Invalid when dir holds no database.
func Check(ctx context.Context, dir string) (*CheckReport, error) {
	const op = "backup.Check"
	path := filepath.Join(dir, dbName)
	if _, err := os.Stat(path); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, dir+" holds no database", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT key FROM blob_refs ORDER BY key`)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "reading blob_refs (a database before migration 00016 must be opened by the service once)", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, kerr.WrapKind(kerr.Unavailable, op, "", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "", err)
	}
	u := url.URL{Scheme: "file", Path: filepath.Join(dir, blobsDir), RawQuery: "metadata=skip"}
	blobs, err := storage.OpenBlobs(ctx, u.String())
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	defer blobs.Close()
	rep := &CheckReport{Referenced: len(keys)}
	if entries, err := os.ReadDir(filepath.Join(dir, blobsDir, blobsSub)); err == nil {
		for _, e := range entries {
			if storage.ValidKey(e.Name()) {
				rep.Present++
			}
		}
	}
	for _, k := range keys {
		if !storage.ValidKey(k) {
			continue
		}
		err := blobs.Verify(ctx, k, -1)
		switch {
		case err == nil:
		case errors.Is(err, kerr.NotFound):
			if len(rep.Missing) < 100 {
				rep.Missing = append(rep.Missing, k)
			}
		case errors.Is(err, storage.ErrBlobCorrupt):
			if len(rep.Corrupt) < 100 {
				rep.Corrupt = append(rep.Corrupt, k)
			}
		default:
			return rep, kerr.Wrap(op, err)
		}
	}
	if len(rep.Missing)+len(rep.Corrupt) > 0 {
		return rep, kerr.E(kerr.Internal, op, "%d blobs missing, %d corrupt (first: %v %v): %w", len(rep.Missing), len(rep.Corrupt), first(rep.Missing), first(rep.Corrupt), storage.ErrBlobCorrupt)
	}
	return rep, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// writeFileSync writes data to path through a temporary file, synced and
// renamed, then syncs the directory.
func writeFileSync(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

func syncFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, kerr.WrapKind(kerr.Unavailable, "", "", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, kerr.WrapKind(kerr.Unavailable, "", "fsync "+path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, kerr.WrapKind(kerr.Unavailable, "", "", err)
	}
	return fi.Size(), syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return kerr.WrapKind(kerr.Unavailable, "", "", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return kerr.WrapKind(kerr.Unavailable, "", fmt.Sprintf("fsync %s", dir), err)
	}
	return nil
}
