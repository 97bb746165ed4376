package storage_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs

	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// TestBlobsOnS3 runs the blob conformance suite on an S3 server
// (KEIYAKU_S3_URL, credentials in AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY; .ci/run starts versitygw), each subtest in a
// fresh prefix of the bucket.
func TestBlobsOnS3(t *testing.T) {
	url := testenv.Env(t, "KEIYAKU_S3_URL", `an S3 bucket URL, e.g. "s3://keiyaku-test?endpoint=http://127.0.0.1:7070&use_path_style=true&disable_https=true&region=us-east-1"`)
	storagetest.RunBlobs(t, func(t *testing.T) *blob.Bucket {
		b, err := blob.OpenBucket(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		var p [8]byte
		rand.Read(p[:])
		return blob.PrefixedBucket(b, "test-"+hex.EncodeToString(p[:])+"/")
	})
	// OpenBlobs leaves an s3:// URL as it is (no_tmp_dir is for file://).
	b, err := storage.OpenBlobs(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	key, _, err := b.PutBytes(context.Background(), []byte("契約書 via OpenBlobs"))
	if err != nil {
		t.Fatal(err)
	}
	if data, err := b.ReadAll(context.Background(), key, int64(len("契約書 via OpenBlobs"))); err != nil || string(data) != "契約書 via OpenBlobs" {
		t.Fatalf("ReadAll = %q, %v", data, err)
	}
}
