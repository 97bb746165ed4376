package account

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Scope limits what an API token may do.
type Scope string

// The scopes. Each includes the ones before it: write may read, admin may
// write and acts with its user's administrator rights.
const (
	ScopeRead  Scope = "read"  // read cases, documents, reports; verify PDFs
	ScopeWrite Scope = "write" // also register and act on cases
	ScopeAdmin Scope = "admin" // also manage API tokens; the user's admin rights
)

// Limits of API tokens.
const (
	// TokenPrefix begins every API token secret, so that a leaked one is
	// recognisable (secret scanners) and never taken for a session.
	TokenPrefix = "kyk_"
	// DefaultTokenTTL and MaxTokenTTL bound a token's life.
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 366 * 24 * time.Hour
	// MaxTokensPerUser bounds the live and past tokens a user keeps.
	MaxTokensPerUser = 100
	// MaxTokenNameLen bounds a token's label, in bytes.
	MaxTokenNameLen = 200
	// tokenTouchEvery is how stale LastUsedAt may get before a use
	// writes it again (a write per request would serialise the API).
	tokenTouchEvery = time.Minute
)

// ErrTokenInvalid is the cause of kerr.Unauthenticated for an API token
// that is unknown, expired or revoked.
var ErrTokenInvalid = errors.New("API token unknown, expired or revoked")

// Includes reports whether a token with scope s may act with scope need.
func (s Scope) Includes(need Scope) bool {
	rank := map[Scope]int{ScopeRead: 1, ScopeWrite: 2, ScopeAdmin: 3}
	return rank[s] >= rank[need] && rank[need] > 0
}

// NewToken is what CreateToken needs.
type NewToken struct {
	Name  string // a label for people; required
	Scope Scope  // required
	// TTL is the token's life; zero means DefaultTokenTTL, at most
	// MaxTokenTTL.
	TTL time.Duration
}

// Token is an API token as its owner sees it (never its secret).
type Token struct {
	ID           string
	Name         string
	Scope        Scope
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RevokedAt    time.Time // zero while not revoked
	LastUsedAt   time.Time // zero if never used
	LastUsedAddr string
}

func fromStored(t *storage.APIToken) *Token {
	out := &Token{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt,
		LastUsedAt: t.LastUsedAt, LastUsedAddr: t.LastUsedAddr}
	if len(t.Scopes) > 0 {
		out.Scope = Scope(t.Scopes[0])
	}
	return out
}

func (s *Service) tokens(op string) (storage.TokenStore, error) {
	ts, ok := s.store.(storage.TokenStore)
	if !ok {
		return nil, kerr.E(kerr.FailedPrecondition, op, "the store %T keeps no API tokens", s.store)
	}
	return ts, nil
}

// CreateToken creates an API token for p's user and returns it with its
// secret, which is shown this once: the store keeps only its SHA-256. A
// token acts as its user (Principal of AuthenticateToken) within its
// scope; only an administrator may create an admin token.
//
// Errors: kerr.Unauthenticated without a principal; kerr.Invalid for a
// bad name, scope or TTL; kerr.PermissionDenied for an admin token of a
// user that is not an administrator; kerr.FailedPrecondition beyond
// MaxTokensPerUser or when the store keeps no tokens.
func (s *Service) CreateToken(ctx context.Context, p Principal, nt NewToken) (*Token, string, error) {
	const op = "account.CreateToken"
	if err := userOnly(op, p); err != nil { // disclosure.go
		return nil, "", err
	}
	ts, err := s.tokens(op)
	if err != nil {
		return nil, "", err
	}
	if err := checkText(op, "token name", nt.Name, MaxTokenNameLen); err != nil {
		return nil, "", err
	}
	if !slices.Contains([]Scope{ScopeRead, ScopeWrite, ScopeAdmin}, nt.Scope) {
		return nil, "", kerr.E(kerr.Invalid, op, "scope %q: use read, write or admin", nt.Scope)
	}
	if nt.Scope == ScopeAdmin && !p.Admin {
		return nil, "", kerr.E(kerr.PermissionDenied, op, "only an administrator may create an admin token")
	}
	ttl := nt.TTL
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Minute || ttl > MaxTokenTTL {
		return nil, "", kerr.E(kerr.Invalid, op, "a token lives from one minute to %d days", int(MaxTokenTTL/(24*time.Hour)))
	}
	existing, err := ts.ListAPITokens(ctx, p.UserID)
	if err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	if len(existing) >= MaxTokensPerUser {
		return nil, "", kerr.E(kerr.FailedPrecondition, op, "a user keeps at most %d API tokens", MaxTokensPerUser)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
	now := s.now()
	st := &storage.APIToken{ID: s.newID(), TokenHash: tokenHash(secret), UserID: p.UserID, Name: nt.Name,
		Scopes: []string{string(nt.Scope)}, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := ts.PutAPIToken(ctx, st, s.audit(p, "account.token-create", st.ID+" "+string(nt.Scope))); err != nil {
		return nil, "", kerr.Wrap(op, err)
	}
	return fromStored(st), secret, nil
}

func checkText(op, field, v string, max int) error {
	if strings.TrimSpace(v) == "" || len(v) > max || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return kerr.E(kerr.Invalid, op, "%s must be 1 to %d bytes of text without control characters", field, max)
	}
	return nil
}

// ListTokens returns the API tokens of p's user, oldest first, including
// expired and revoked ones.
func (s *Service) ListTokens(ctx context.Context, p Principal) ([]*Token, error) {
	const op = "account.ListTokens"
	if err := userOnly(op, p); err != nil { // disclosure.go
		return nil, err
	}
	ts, err := s.tokens(op)
	if err != nil {
		return nil, err
	}
	list, err := ts.ListAPITokens(ctx, p.UserID)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	out := make([]*Token, 0, len(list))
	for _, t := range list {
		out = append(out, fromStored(t))
	}
	return out, nil
}

// RevokeToken revokes the API token id of p's user at once; a token of
// another user, or none, is kerr.NotFound. Revoking twice is no error.
func (s *Service) RevokeToken(ctx context.Context, p Principal, id string) error {
	const op = "account.RevokeToken"
	if err := userOnly(op, p); err != nil { // disclosure.go
		return err
	}
	ts, err := s.tokens(op)
	if err != nil {
		return err
	}
	list, err := ts.ListAPITokens(ctx, p.UserID)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	for _, t := range list {
		if t.ID != id {
			continue
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		t.RevokedAt = s.now()
		return kerr.Wrap(op, ts.UpdateAPIToken(ctx, t, s.audit(p, "account.token-revoke", t.ID)))
	}
	return kerr.E(kerr.NotFound, op, "no API token %q of this user", id)
}

// AuthenticateToken returns the Principal an API token acts as, and its
// scope. The token acts as its user and is held to that user's state: a
// disabled user's token is refused like an unknown one, and one whose
// user must change the initial password with ErrPasswordChangeRequired.
// Failed logins (login throttling) do not stop a token: a guesser could
// otherwise cut off a company's integration. Principal.Admin is set only for an admin
// token of an administrator. The last use (time and address) is recorded,
// at most once a minute per token.
//
// Errors: kerr.Unauthenticated wrapping ErrTokenInvalid (unknown,
// expired, revoked, its user disabled); kerr.PermissionDenied wrapping
// ErrAddressNotAllowed when the user has an IP allow-list that remoteAddr
// is not in (audited); kerr.FailedPrecondition wrapping
// ErrPasswordChangeRequired.
func (s *Service) AuthenticateToken(ctx context.Context, secret, remoteAddr string) (Principal, Scope, error) {
	const op = "account.AuthenticateToken"
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return Principal{}, "", kerr.E(kerr.Unauthenticated, op, "%w", ErrTokenInvalid)
	}
	ts, err := s.tokens(op)
	if err != nil {
		return Principal{}, "", err
	}
	t, err := ts.GetAPITokenByHash(ctx, tokenHash(secret))
	if errors.Is(err, kerr.NotFound) {
		return Principal{}, "", kerr.E(kerr.Unauthenticated, op, "%w", ErrTokenInvalid)
	}
	if err != nil {
		return Principal{}, "", kerr.Wrap(op, err)
	}
	now := s.now()
	if !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return Principal{}, "", kerr.E(kerr.Unauthenticated, op, "%w", ErrTokenInvalid)
	}
	u, err := s.store.GetUser(ctx, t.UserID)
	if err != nil {
		return Principal{}, "", kerr.Wrap(op, err)
	}
	if u.Disabled {
		return Principal{}, "", kerr.E(kerr.Unauthenticated, op, "%w", ErrTokenInvalid)
	}
	if err := s.checkAddress(ctx, op, u, remoteAddr, "API token "+t.ID); err != nil {
		return Principal{}, "", err
	}
	if u.MustChangePassword {
		return Principal{}, "", kerr.E(kerr.FailedPrecondition, op, "%w", ErrPasswordChangeRequired)
	}
	scope := Scope("")
	if len(t.Scopes) > 0 {
		scope = Scope(t.Scopes[0])
	}
	if now.Sub(t.LastUsedAt) >= tokenTouchEvery || t.LastUsedAddr != remoteAddr {
		t.LastUsedAt, t.LastUsedAddr = now, remoteAddr
		// Bookkeeping only: a lost race or failed write must not refuse
		// a valid token.
		_ = ts.UpdateAPIToken(ctx, t, nil)
	}
	return Principal{UserID: u.ID, CompanyID: u.CompanyID, Admin: u.Admin && scope == ScopeAdmin, RemoteAddr: remoteAddr, Operator: u.Operator && scope == ScopeAdmin}, scope, nil
}
