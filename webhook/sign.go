package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret, as Standard Webhooks libraries expect.
const SecretPrefix = "whsec_"

// secretBytes is the size of a generated key (the spec allows 24 to 64).
const secretBytes = 32

// MaxSignatureHeader bounds the webhook-signature header Verify reads.
const MaxSignatureHeader = 1024

// DefaultTolerance is how far Verify lets a timestamp stray from now.
const DefaultTolerance = 5 * time.Minute

// NewSecret returns a new random secret in the whsec_ form.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// DecodeSecret returns the HMAC key of a whsec_ secret, or kerr.Invalid.
func DecodeSecret(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, kerr.E(kerr.Invalid, "webhook.DecodeSecret", "a secret starts with %q", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, kerr.E(kerr.Invalid, "webhook.DecodeSecret", "a secret is %q and the base64 of 24 to 64 bytes", SecretPrefix)
	}
	return key, nil
}

// Sign returns one webhook-signature entry, "v1," + base64(HMAC-SHA256(key,
// id + "." + timestamp + "." + body)), with timestamp in Unix seconds.
func Sign(key []byte, id string, ts int64, body []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	h.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Verify is the receiving side: it returns nil when the header holds a v1
// signature of id, ts and body under the key of secret (compared in
// constant time) and ts lies within tolerance of now (zero means
// DefaultTolerance); otherwise an error of kind kerr.Unauthenticated
// (kerr.Invalid for a malformed secret).
func Verify(secret, id, ts, sigHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	const op = "webhook.Verify"
	key, err := DecodeSecret(secret)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if id == "" || len(sigHeader) > MaxSignatureHeader {
		return kerr.E(kerr.Unauthenticated, op, "missing webhook-id or oversized webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return kerr.E(kerr.Unauthenticated, op, "webhook-timestamp %q is not Unix seconds", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return kerr.E(kerr.Unauthenticated, op, "webhook-timestamp outside the tolerance of %s", tolerance)
	}
	want := Sign(key, id, sec, body)
	for _, s := range strings.Fields(sigHeader) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return kerr.E(kerr.Unauthenticated, op, "no v1 signature matches")
}
