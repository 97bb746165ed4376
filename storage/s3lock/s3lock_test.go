package s3lock_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs
	"gocloud.dev/gcerrors"

	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/s3lock"
)

type noRefs struct{}

func (noRefs) BlobsReferenced(context.Context, []string) (map[string]bool, error) {
	return map[string]bool{}, nil
}

// TestObjectLock on the S3 server of KEIYAKU_S3_URL (versitygw in
// .ci/run), in a new bucket created with Object Lock: blobs written with
// PutRetained and PutBytesRetained (a small one, and a streamed one that
// goes through a copy) carry COMPLIANCE retention to the given date, and
// the store refuses to delete or overwrite them; storing the same bytes
// again still succeeds; the orphan collector leaves them (Retained) and
// removes an unretained orphan; a plain Put is not retained. The
// retention is ten minutes, so the bucket empties itself.
func TestObjectLock(t *testing.T) {
	s3url := testenv.Env(t, "KEIYAKU_S3_URL", "an S3 bucket URL (versitygw in .ci/run)")
	u, err := url.Parse(s3url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	endpoint := q.Get("endpoint")
	ctx := context.Background()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testenv.Env(t, "AWS_ACCESS_KEY_ID", "S3 key"), testenv.Env(t, "AWS_SECRET_ACCESS_KEY", "S3 secret"), "")})
	var nonce [6]byte
	rand.Read(nonce[:])
	name := "keiyaku-lock-" + hex.EncodeToString(nonce[:])
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatalf("creating a bucket with Object Lock: %v", err)
	}
	u.Host = name
	raw, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	b := storage.NewBlobs(raw)
	defer b.Close()
	b.SetRetain(s3lock.Compliance)

	until := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	small := []byte("締結済み契約書 (sealed)")
	kSmall, _, err := b.PutBytesRetained(ctx, small, until)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("evidence record "), 100_000) // > 1 MiB: streamed, then copied
	kBig, _, err := b.PutRetained(ctx, bytes.NewReader(big), 8<<20, until)
	if err != nil {
		t.Fatal(err)
	}
	kPlain, _, err := b.PutBytes(ctx, []byte("an orphan, not retained"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{kSmall, kBig} {
		r, err := client.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &name, Key: aws.String("sha256/" + k)})
		if err != nil {
			t.Fatalf("retention of %s: %v", k, err)
		}
		if r.Retention.Mode != types.ObjectLockRetentionModeCompliance || r.Retention.RetainUntilDate == nil || r.Retention.RetainUntilDate.Sub(until).Abs() > time.Second {
			t.Errorf("retention of %s: %s until %v, want COMPLIANCE until %v", k, r.Retention.Mode, r.Retention.RetainUntilDate, until)
		}
		if err := raw.Delete(ctx, "sha256/"+k); gcerrors.Code(err) != gcerrors.PermissionDenied {
			t.Errorf("deleting retained %s: %v, want refused", k, err)
		}
		if err := raw.WriteAll(ctx, "sha256/"+k, []byte("replaced"), nil); gcerrors.Code(err) != gcerrors.PermissionDenied {
			t.Errorf("overwriting retained %s: %v, want refused", k, err)
		}
	}
	if _, err := client.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &name, Key: aws.String("sha256/" + kPlain)}); err == nil {
		t.Error("a plain Put is retained")
	}
	// The same bytes stored again (a new case with the same file): fine.
	if k, _, err := b.PutBytesRetained(ctx, small, until.Add(time.Hour)); err != nil || k != kSmall {
		t.Errorf("storing retained bytes again: %s %v", k, err)
	}
	if k, _, err := b.PutBytes(ctx, small); err != nil || k != kSmall {
		t.Errorf("storing retained bytes again without retention: %s %v", k, err)
	}
	if err := b.Verify(ctx, kSmall, int64(len(small))); err != nil {
		t.Error(err)
	}
	// The collector, a day later, with no references at all.
	rep, err := b.CollectOrphans(ctx, noRefs{}, time.Now().Add(25*time.Hour), storage.DefaultOrphanGrace)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Retained != 2 || rep.Removed != 1 {
		t.Errorf("collection: %+v, want 2 retained, 1 removed", rep)
	}
	if ok, _ := b.Exists(ctx, kPlain); ok {
		t.Error("the unretained orphan survived")
	}
}
