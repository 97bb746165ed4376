package keiyaku_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/s3lock"
)

// TestSealedRetainedOnS3: with blobs on an S3 bucket with Object Lock
// (versitygw, KEIYAKU_S3_URL's server) and s3lock.Compliance, completing a
// case writes its sealed PDF and evidence records retained (COMPLIANCE)
// until casework.RetainUntil(completion): ten years. The store refuses to
// delete them; the uploads of the lifecycle are not retained.
func TestSealedRetainedOnS3(t *testing.T) {
	s3url := testenv.Env(t, "KEIYAKU_S3_URL", "an S3 bucket URL (versitygw in .ci/run)")
	u, err := url.Parse(s3url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(u.Query().Get("endpoint")), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")})
	var nonce [6]byte
	rand.Read(nonce[:])
	name := "keiyaku-sealed-" + hex.EncodeToString(nonce[:])
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatalf("creating a bucket with Object Lock: %v", err)
	}
	u.Host = name
	raw, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	blobs := storage.NewBlobs(raw)
	defer blobs.Close()
	blobs.SetRetain(s3lock.Compliance)
	w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) { cfg.Blobs = blobs })
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.registerWithFile(a, b, "WORM", "添付"), a, b)
	want := casework.RetainUntil(c.CompletedAt)
	if want.Year() != c.CompletedAt.Year()+10 {
		t.Fatalf("RetainUntil(%v) = %v", c.CompletedAt, want)
	}
	for _, f := range c.Sealed {
		r, err := client.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &name, Key: aws.String("sha256/" + f.Key)})
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if r.Retention.Mode != types.ObjectLockRetentionModeCompliance || r.Retention.RetainUntilDate.Sub(want).Abs() > time.Second {
			t.Errorf("%s retained %s until %v, want COMPLIANCE until %v", f.Name, r.Retention.Mode, r.Retention.RetainUntilDate, want)
		}
		if err := raw.Delete(ctx, "sha256/"+f.Key); gcerrors.Code(err) != gcerrors.PermissionDenied {
			t.Errorf("deleting sealed %s: %v, want refused", f.Name, err)
		}
	}
	if _, err := client.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &name, Key: aws.String("sha256/" + c.Supplements[0].Key)}); err == nil {
		t.Error("an uploaded supplement is retained")
	}
	oc, err := w.svc.VerifyOriginal(w.ctx, a.P, c.ID)
	if err != nil || !oc.Original {
		t.Errorf("VerifyOriginal: %+v %v", oc, err)
	}
}
