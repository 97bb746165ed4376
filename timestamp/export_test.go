package timestamp

// NewAuthorityUnchecked skips NewAuthority's certificate checks, so tests
// can make tokens with certificates a real Authority refuses.
func NewAuthorityUnchecked(cfg AuthorityConfig) *Authority {
	a, err := newAuthority(cfg, false)
	if err != nil {
		panic(err)
	}
	return a
}
