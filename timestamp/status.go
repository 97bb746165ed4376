package timestamp

import (
	"fmt"
	"strings"
)

// PKIStatus values (RFC 3161 §2.4.2).
const (
	StatusGranted                = 0
	StatusGrantedWithMods        = 1
	StatusRejection              = 2
	StatusWaiting                = 3
	StatusRevocationWarning      = 4
	StatusRevocationNotification = 5
)

// PKIFailureInfo bit numbers (RFC 3161 §2.4.2).
const (
	FailBadAlg              = 0
	FailBadRequest          = 2
	FailBadDataFormat       = 5
	FailTimeNotAvailable    = 14
	FailUnacceptedPolicy    = 15
	FailUnacceptedExtension = 16
	FailAddInfoNotAvailable = 17
	FailSystemFailure       = 25
)

// StatusError is a TimeStampResp whose status is not granted, or a
// request an Authority refuses. errors.Is(err, ErrRejected) holds for it.
type StatusError struct {
	Status   int
	FailInfo []int // PKIFailureInfo bit numbers set
	Text     string
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "timestamp: TSA status %d", e.Status)
	if len(e.FailInfo) > 0 {
		fmt.Fprintf(&b, " failInfo %v", e.FailInfo)
	}
	if e.Text != "" {
		fmt.Fprintf(&b, ": %s", e.Text)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *StatusError) Is(target error) bool { return target == ErrRejected }

// HasFailure reports whether failure bit n is set.
func (e *StatusError) HasFailure(n int) bool {
	for _, f := range e.FailInfo {
		if f == n {
			return true
		}
	}
	return false
}

func reject(bit int, format string, args ...any) *StatusError {
	return &StatusError{Status: StatusRejection, FailInfo: []int{bit}, Text: fmt.Sprintf(format, args...)}
}
