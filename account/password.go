package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/keiyaku/keiyaku/kerr"
)

// Params are the argon2id parameters (RFC 9106 §3.1).
type Params struct {
	Time      uint32 // passes, t
	MemoryKiB uint32 // memory, m, in KiB
	Threads   uint8  // lanes, p
	KeyLen    uint32 // tag length in bytes
	SaltLen   uint32 // salt length in bytes
}

// DefaultParams follow RFC 9106 §4's second recommended option (t=3,
// m=64 MiB, p=4, 128-bit salt, 256-bit tag), for memory-constrained hosts.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4, KeyLen: 32, SaltLen: 16}

// Bounds on parameters, for hashes we produce and for stored hashes we
// parse: a stored hash can never make a login use more than MaxMemoryKiB.
const (
	MaxTime      = 16
	MaxMemoryKiB = 1 << 20 // 1 GiB
	MaxThreads   = 64
	MinKeyLen    = 16
	MaxKeyLen    = 64
	MinSaltLen   = 8
	MaxSaltLen   = 64
	// MaxEncodedHashLen bounds the encoded form ParseHash accepts.
	MaxEncodedHashLen = 256
)

func (p Params) check(op string) error {
	if p.Time < 1 || p.Time > MaxTime || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > MaxMemoryKiB ||
		p.Threads < 1 || p.Threads > MaxThreads || p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen ||
		p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen {
		return kerr.E(kerr.Invalid, op, "argon2id parameters out of range: %+v", p)
	}
	return nil
}

// Hash is a parsed argon2id password hash.
type Hash struct {
	Params Params
	Salt   []byte
	Key    []byte
}

// HashPassword hashes password with fresh random salt under p and returns
// the PHC string form
// "$argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<tag>" (unpadded
// standard base64), as the reference implementation writes it.
func HashPassword(password string, p Params) (string, error) {
	const op = "account.HashPassword"
	if err := p.check(op); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", kerr.Wrap(op, err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ParseHash parses the form HashPassword writes. Anything else, including
// parameters outside the bounds above, is kerr.Invalid. Hand-written
// because x/crypto/argon2 offers no encoding; the format is small and fixed.
func ParseHash(s string) (*Hash, error) {
	const op = "account.ParseHash"
	bad := func(why string) (*Hash, error) {
		return nil, kerr.E(kerr.Invalid, op, "malformed argon2id hash: %s", why)
	}
	if len(s) > MaxEncodedHashLen {
		return bad("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("want $argon2id$v=..$m=..,t=..,p=..$salt$hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version " + parts[2])
	}
	var h Hash
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("want m, t and p")
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return bad("want m, t and p in this order")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + name + " is not a number")
		}
		switch name {
		case "m":
			h.Params.MemoryKiB = uint32(n)
		case "t":
			h.Params.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("too many threads")
			}
			h.Params.Threads = uint8(n)
		}
	}
	var err error
	b64 := base64.RawStdEncoding.Strict()
	if h.Salt, err = b64.DecodeString(parts[4]); err != nil {
		return bad("salt is not base64")
	}
	if h.Key, err = b64.DecodeString(parts[5]); err != nil {
		return bad("hash is not base64")
	}
	h.Params.SaltLen, h.Params.KeyLen = uint32(len(h.Salt)), uint32(len(h.Key))
	if err := h.Params.check(op); err != nil {
		return nil, err
	}
	return &h, nil
}

// Verify reports whether password matches h, comparing in constant time.
func (h *Hash) Verify(password string) bool {
	key := argon2.IDKey([]byte(password), h.Salt, h.Params.Time, h.Params.MemoryKiB, h.Params.Threads, h.Params.KeyLen)
	return subtle.ConstantTimeCompare(key, h.Key) == 1
}
