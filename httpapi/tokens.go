package httpapi

import (
	"context"
	"time"

	"github.com/keiyaku/keiyaku/account"
)

func toToken(t *account.Token) Token {
	return Token{Id: t.ID, Name: t.Name, Scope: TokenScope(t.Scope), CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		RevokedAt: timep(t.RevokedAt), LastUsedAt: timep(t.LastUsedAt), LastUsedAddr: strp(t.LastUsedAddr)}
}

func (s *server) ListTokens(ctx context.Context, _ ListTokensRequestObject) (ListTokensResponseObject, error) {
	list, err := s.svc().Accounts.ListTokens(ctx, info(ctx).p)
	if err != nil {
		return nil, err
	}
	out := ListTokens200JSONResponse{Tokens: []Token{}}
	for _, t := range list {
		out.Tokens = append(out.Tokens, toToken(t))
	}
	return out, nil
}

func (s *server) CreateToken(ctx context.Context, req CreateTokenRequestObject) (CreateTokenResponseObject, error) {
	nt := account.NewToken{Name: req.Body.Name, Scope: account.Scope(req.Body.Scope)}
	if req.Body.TtlSeconds != nil {
		nt.TTL = time.Duration(*req.Body.TtlSeconds) * time.Second
	}
	t, secret, err := s.svc().Accounts.CreateToken(ctx, info(ctx).p, nt)
	if err != nil {
		return nil, err
	}
	v := toToken(t)
	return CreateToken201JSONResponse{Id: v.Id, Name: v.Name, Scope: CreatedTokenScope(v.Scope), CreatedAt: v.CreatedAt,
		ExpiresAt: v.ExpiresAt, Secret: secret}, nil
}

func (s *server) RevokeToken(ctx context.Context, req RevokeTokenRequestObject) (RevokeTokenResponseObject, error) {
	if err := s.svc().Accounts.RevokeToken(ctx, info(ctx).p, req.TokenId); err != nil {
		return nil, err
	}
	return RevokeToken204Response{}, nil
}
