// Package s3lock retains blobs on S3 with Object Lock (WORM): an object
// written with Compliance (through storage.Blobs.SetRetain and
// PutRetained) cannot be deleted or overwritten by anyone, the service's
// own credentials included, before its retain-until date.
//
// The bucket must have been created with Object Lock enabled
// (x-amz-bucket-object-lock-enabled: true; it cannot be turned on later
// on most servers); a write with a retention date to a bucket without it
// is refused. versitygw (posix backend, as .ci/run runs it) supports it:
// a delete or an overwrite before the date answers 403 AccessDenied
// ("object protected by object lock"), which storage.Blobs treats as
// "retained" (the orphan collector leaves such a blob, counted in
// OrphanReport.Retained).
package s3lock

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.RetainFunc = Compliance

// Compliance is a storage.RetainFunc for gocloud.dev/blob/s3blob: it
// writes (and copies) objects in Object Lock compliance mode, retained
// until until. On another driver it returns kerr.FailedPrecondition, so
// that a misconfiguration is not mistaken for retention.
func Compliance(as func(any) bool, until time.Time) error {
	until = until.UTC()
	var up *transfermanager.UploadObjectInput
	if as(&up) {
		up.ObjectLockMode = tmtypes.ObjectLockModeCompliance
		up.ObjectLockRetainUntilDate = &until
		return nil
	}
	var cp *s3.CopyObjectInput
	if as(&cp) {
		cp.ObjectLockMode = types.ObjectLockModeCompliance
		cp.ObjectLockRetainUntilDate = &until
		return nil
	}
	return kerr.E(kerr.FailedPrecondition, "s3lock.Compliance", "the blob bucket is not on S3 (gocloud.dev/blob/s3blob): it cannot retain objects")
}
