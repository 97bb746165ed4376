package revocation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/keiyaku/keiyaku/internal/fifo"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Config configures a Client. The zero value is usable.
type Config struct {
	// HTTPClient makes the requests; nil means a client of its own with
	// Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP exchange; 0 means 10 seconds.
	Timeout time.Duration
	// MaxOCSPSize and MaxCRLSize bound response bodies; 0 means
	// MaxOCSPSize and MaxCRLSize. Larger bodies are ErrTooLarge.
	MaxOCSPSize, MaxCRLSize int64
	// Skew tolerates thisUpdate lying after the time asked about; 0 means
	// DefaultSkew, negative means none.
	Skew time.Duration
	// CacheEntries bounds the in-memory cache; 0 means 256, negative
	// disables caching.
	CacheEntries int
	// PreferPOST sends every OCSP request by POST; by default a request
	// whose GET URL fits in 255 bytes is sent by GET (RFC 5019 §5), which
	// caches better.
	PreferPOST bool
	// Nonce sends a random nonce (RFC 8954) with every OCSP request (by
	// POST) and refuses a response that echoes a different one
	// (ErrNotForCert). A response without a nonce is accepted, since RFC
	// 8954 §2.1 lets responders ignore it (pre-produced responses).
	Nonce bool
}

// Client fetches and checks revocation data online. It is safe for
// concurrent use.
type Client struct {
	http       *http.Client
	timeout    time.Duration
	maxOCSP    int64
	maxCRL     int64
	skew       time.Duration
	preferPOST bool
	nonce      bool
	cache      *cache
}

// maxURLs bounds how many OCSP or CRL URLs of one certificate are tried.
const maxURLs = 3

// New returns a Client for cfg. It fails when a limit is negative.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout < 0 || cfg.MaxOCSPSize < 0 || cfg.MaxCRLSize < 0 {
		return nil, errors.New("revocation: Config limits must not be negative")
	}
	c := &Client{http: cfg.HTTPClient, timeout: cfg.Timeout, maxOCSP: cfg.MaxOCSPSize, maxCRL: cfg.MaxCRLSize, skew: cfg.Skew, preferPOST: cfg.PreferPOST, nonce: cfg.Nonce}
	if c.timeout == 0 {
		c.timeout = 10 * time.Second
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: c.timeout}
	}
	if c.maxOCSP == 0 {
		c.maxOCSP = MaxOCSPSize
	}
	if c.maxCRL == 0 {
		c.maxCRL = MaxCRLSize
	}
	switch {
	case c.skew == 0:
		c.skew = DefaultSkew
	case c.skew < 0:
		c.skew = 0
	}
	n := cfg.CacheEntries
	if n == 0 {
		n = 256
	}
	if n > 0 {
		c.cache = &cache{m: fifo.New[string, *Result](n)}
	}
	return c, nil
}

// Check asks OCSP first and falls back to the CRL when no OCSP answer
// could be used (including an "unknown" OCSP status). It returns the first
// usable Result, or the last error.
func (c *Client) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (*Result, error) {
	r, err := c.OCSP(ctx, cert, issuer, at)
	if err == nil && r.Status != Unknown {
		return r, nil
	}
	r2, err2 := c.CRL(ctx, cert, issuer, at)
	if err2 == nil {
		return r2, nil
	}
	if err == nil {
		return r, nil // OCSP "unknown" beats no answer at all
	}
	return r2, err2
}

// OCSP asks the responders in cert's AIA (RFC 5280 §4.2.2.1) about cert
// and checks the answer as CheckOCSP does, with Source SourceOnlineOCSP.
// A cached response that covers at is returned without a request.
func (c *Client) OCSP(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (*Result, error) {
	if cert == nil || issuer == nil {
		return nil, fmt.Errorf("%w: nil certificate or issuer", ErrNotForCert)
	}
	key := cacheKey("ocsp", cert, issuer)
	if r := c.cache.get(key, at); r != nil {
		return r, nil
	}
	if len(cert.OCSPServer) == 0 {
		return nil, fmt.Errorf("%w: certificate %s names no OCSP responder", ErrUnavailable, cert.Subject)
	}
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return nil, fmt.Errorf("revocation: build OCSP request: %w", err)
	}
	var nonce []byte
	if c.nonce {
		if nonce, err = newNonce(); err != nil {
			return nil, err
		}
		if req, err = addNonce(req, nonce); err != nil {
			return nil, err
		}
	}
	var last error
	for i, u := range cert.OCSPServer {
		if i == maxURLs {
			break
		}
		body, err := c.postOrGet(ctx, u, req, nonce != nil)
		if err != nil {
			last = err
			continue
		}
		if got := responseNonce(body); nonce != nil && got != nil && !bytes.Equal(got, nonce) {
			last = fmt.Errorf("%w: %s answered with another request's nonce", ErrNotForCert, u)
			continue
		}
		r, err := checkOCSP(body, cert, issuer, at, c.skew, SourceOnlineOCSP)
		if err != nil && !errors.Is(err, ErrOutOfWindow) {
			last = fmt.Errorf("%s: %w", u, err)
			continue
		}
		if err == nil {
			c.cache.put(key, r)
		}
		return r, err
	}
	return nil, last
}

// CRL downloads the CRLs of cert's CRL distribution points (RFC 5280
// §4.2.1.13) and checks them as CheckCRL does, with Source
// SourceOnlineCRL. A cached CRL that covers at is used without a request.
func (c *Client) CRL(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (*Result, error) {
	if cert == nil || issuer == nil {
		return nil, fmt.Errorf("%w: nil certificate or issuer", ErrNotForCert)
	}
	key := cacheKey("crl", cert, issuer)
	if r := c.cache.get(key, at); r != nil {
		return r, nil
	}
	if len(cert.CRLDistributionPoints) == 0 {
		return nil, fmt.Errorf("%w: certificate %s names no CRL distribution point", ErrUnavailable, cert.Subject)
	}
	var last error
	for i, u := range cert.CRLDistributionPoints {
		if i == maxURLs {
			break
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			last = fmt.Errorf("%w: CRL URL %q is not HTTP", ErrUnavailable, u)
			continue
		}
		body, err := c.fetch(ctx, http.MethodGet, u, "", nil, c.maxCRL)
		if err != nil {
			last = err
			continue
		}
		r, err := checkCRL(body, cert, issuer, at, c.skew, SourceOnlineCRL)
		if err != nil && !errors.Is(err, ErrOutOfWindow) {
			last = fmt.Errorf("%s: %w", u, err)
			continue
		}
		if err == nil {
			c.cache.put(key, r)
		}
		return r, err
	}
	return nil, last
}

func (c *Client) postOrGet(ctx context.Context, base string, req []byte, post bool) ([]byte, error) {
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("%w: OCSP URL %q is not HTTP", ErrUnavailable, base)
	}
	if !c.preferPOST && !post {
		// RFC 6960 Appendix A.1: URL-encoded base64 of the DER request.
		get := strings.TrimSuffix(base, "/") + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(req))
		if len(get) <= 255 {
			return c.fetch(ctx, http.MethodGet, get, "", nil, c.maxOCSP)
		}
	}
	return c.fetch(ctx, http.MethodPost, base, "application/ocsp-request", req, c.maxOCSP)
}

func (c *Client) fetch(ctx context.Context, method, u, ctype string, body []byte, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s %s: HTTP %s", ErrUnavailable, method, u, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %s announces %d bytes (limit %d)", ErrTooLarge, u, resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrUnavailable, u, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrTooLarge, u, limit)
	}
	return b, nil
}

func cacheKey(kind string, cert, issuer *x509.Certificate) string {
	h := sha256.New()
	h.Write(issuer.RawSubjectPublicKeyInfo)
	h.Write(issuer.RawSubject)
	return kind + "|" + string(h.Sum(nil)) + "|" + cert.SerialNumber.String()
}

// cache keeps usable results, first in first out. A nil *cache caches
// nothing. An entry answers only for times within its
// [thisUpdate, nextUpdate]; results without nextUpdate are not cached.
type cache struct {
	m *fifo.Map[string, *Result]
}

func (c *cache) get(key string, at time.Time) *Result {
	if c == nil {
		return nil
	}
	r, _ := c.m.Get(key)
	if r == nil || at.Before(r.ThisUpdate) || at.After(r.NextUpdate) {
		return nil
	}
	cp := *r
	// The status may differ at another time: recompute from RevokedAt.
	if !cp.RevokedAt.IsZero() {
		cp.Status = Good
		if !at.Before(cp.RevokedAt) && cp.Reason != 8 {
			cp.Status = Revoked
		}
	}
	return &cp
}

func (c *cache) put(key string, r *Result) {
	if c == nil || r.NextUpdate.IsZero() {
		return
	}
	c.m.Set(key, r)
}
