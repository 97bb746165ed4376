package storage

import (
	"context"
	"time"
)

// APIToken is an API token for systems (an integration acting as a
// user). The store keeps only a hash of the secret.
type APIToken struct {
	// ID names the token (for listing and revoking); TokenHash is the
	// hex SHA-256 of the secret. Both unique.
	ID        string
	TokenHash string
	UserID    string
	Name      string   // the creator's label, e.g. "ERP export"
	Scopes    []string // "read", "write", "admin"
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; RevokedAt when it was
	// revoked (zero while not).
	ExpiresAt time.Time
	RevokedAt time.Time
	// LastUsedAt and LastUsedAddr are the latest authentication with it.
	LastUsedAt   time.Time
	LastUsedAddr string
}

// TokenStore keeps API tokens. It is an optional ability of a Store,
// found by type assertion (both backends implement it); safe for
// concurrent use.
type TokenStore interface {
	// PutAPIToken stores a new token with its audit entries (at least
	// one); an ID or hash that exists already is kerr.Conflict.
	PutAPIToken(ctx context.Context, t *APIToken, audit []AuditEntry) error
	// UpdateAPIToken replaces the stored token with ID t.ID (its hash
	// and user unchanged) with its audit entries. None is allowed only
	// for recording LastUsedAt/LastUsedAddr, which is bookkeeping, not an
	// audited act. A missing token is kerr.NotFound.
	UpdateAPIToken(ctx context.Context, t *APIToken, audit []AuditEntry) error
	// GetAPITokenByHash returns the token with the hash, or
	// kerr.NotFound.
	GetAPITokenByHash(ctx context.Context, tokenHash string) (*APIToken, error)
	// ListAPITokens returns the tokens of a user, oldest first.
	ListAPITokens(ctx context.Context, userID string) ([]*APIToken, error)
}
