package storage

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
)

// Limits of an IdempotencyRecord, the same in every backend.
const (
	// MaxIdempotencyKeyLen bounds IdempotencyRecord.Key in bytes.
	MaxIdempotencyKeyLen = 255
	// MaxIdempotencyScopeLen bounds Principal and Request in bytes.
	MaxIdempotencyScopeLen = 2048
	// MaxIdempotencyBody bounds the answer body kept for a key; a larger
	// answer is not kept (the caller releases the key instead).
	MaxIdempotencyBody = 1 << 20
)

// IdempotencyRecord is the answer kept for one Idempotency-Key
// (draft-ietf-httpapi-idempotency-key-header): who sent it, to which
// operation, a hash of the request body and the answer given. A record
// whose Status is 0 is in flight: the first request with the key has not
// been answered yet.
type IdempotencyRecord struct {
	// Principal is the caller (a user ID, or "anonymous" and an address);
	// Request the method and path ("POST /v1/cases"); Key the header's
	// value. The three together identify the record.
	Principal, Request, Key string
	// RequestHash is the SHA-256 of the request body; nil in flight.
	RequestHash []byte
	// Status, Header and Body are the answer; Status 0 in flight.
	Status int
	Header map[string][]string
	Body   []byte
	// CreatedAt is when the first request came; ExpiresAt when the
	// record may be replaced: a short lease in flight, then a day.
	CreatedAt, ExpiresAt time.Time
}

// IdempotencyStore keeps the answers to requests sent with an
// Idempotency-Key, so that several processes over one store give a
// repeated request the first answer again. Safe for concurrent use by
// processes sharing the store: of concurrent BeginIdempotent calls for one
// record, exactly one claims it.
type IdempotencyStore interface {
	// BeginIdempotent claims rec's key for a request about to be served:
	// when no record for (Principal, Request, Key) exists, or the one that
	// does expired at or before now, it stores rec (in flight) and
	// returns nil, nil. Otherwise it stores nothing and returns the live
	// record: in flight (Status 0) or answered. kerr.Invalid when rec
	// breaks the limits above.
	BeginIdempotent(ctx context.Context, rec *IdempotencyRecord, now time.Time) (*IdempotencyRecord, error)
	// FinishIdempotent stores the answer of the claimed record rec (its
	// RequestHash, Status, Header, Body and ExpiresAt). kerr.NotFound when
	// no record is in flight for its key (it expired and was taken).
	FinishIdempotent(ctx context.Context, rec *IdempotencyRecord) error
	// ReleaseIdempotent deletes the in-flight record of (principal,
	// request, key), so that the key may be used again (the request
	// failed in a way a retry may fix). An answered record stays.
	ReleaseIdempotent(ctx context.Context, principal, request, key string) error
	// PruneIdempotent deletes the records expired at or before now and
	// returns how many.
	PruneIdempotent(ctx context.Context, now time.Time) (int, error)
}

// CheckIdempotency returns the kerr.Invalid error, under op, that every
// backend gives for a record it refuses.
func CheckIdempotency(op string, rec *IdempotencyRecord) error {
	switch {
	case rec == nil:
		return kerr.E(kerr.Invalid, op, "no record given")
	case rec.Key == "" || len(rec.Key) > MaxIdempotencyKeyLen:
		return kerr.E(kerr.Invalid, op, "an Idempotency-Key must be 1 to %d bytes", MaxIdempotencyKeyLen)
	case rec.Principal == "" || rec.Request == "" || len(rec.Principal) > MaxIdempotencyScopeLen || len(rec.Request) > MaxIdempotencyScopeLen:
		return kerr.E(kerr.Invalid, op, "the caller and the request must be 1 to %d bytes", MaxIdempotencyScopeLen)
	case len(rec.Body) > MaxIdempotencyBody:
		return kerr.E(kerr.Invalid, op, "an answer of %d bytes is larger than the %d kept", len(rec.Body), MaxIdempotencyBody)
	case rec.RequestHash != nil && len(rec.RequestHash) != 32:
		return kerr.E(kerr.Invalid, op, "the request hash must be a SHA-256 (32 bytes)")
	case rec.Status < 0 || rec.Status > 999:
		return kerr.E(kerr.Invalid, op, "status %d is not an HTTP status", rec.Status)
	}
	for _, s := range []string{rec.Principal, rec.Request, rec.Key} {
		if !utf8.ValidString(s) {
			return kerr.E(kerr.Invalid, op, "the caller, the request and the key must be UTF-8 text")
		}
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				return kerr.E(kerr.Invalid, op, "the caller, the request and the key may not hold NUL")
			}
		}
	}
	return nil
}
