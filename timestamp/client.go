package timestamp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
)

// MaxResponseSize is the largest TimeStampResp a Client reads (1 MiB); a
// token with a full chain is a few KiB.
const MaxResponseSize = 1 << 20

// Client asks a remote TSA for tokens over HTTP (RFC 3161 §3.4).
type Client struct {
	// URL is the TSA endpoint; required.
	URL string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Hash is the imprint hash the digests passed to Timestamp are made
	// with; zero means SHA-256.
	Hash crypto.Hash
	// Policy is the TSA policy to request; nil requests none and accepts
	// any.
	Policy asn1.ObjectIdentifier
	// Timeout bounds one request; zero means 30 seconds.
	Timeout time.Duration
	// Verify, when set, makes Timestamp run Verify on the token. nil means
	// the response is only checked to answer the request (imprint, nonce,
	// policy, certificate present) and the caller verifies later.
	Verify *VerifyOptions
}

// Timestamp requests a token over digest (computed with c.Hash), with a
// random 64-bit nonce and certReq set. It returns ErrRejected (a
// *StatusError) when the TSA refuses, ErrMismatch or ErrImprintMismatch
// when the response does not answer the request, ErrMalformed for an
// unreadable response, the errors of Verify when c.Verify is set, and
// transport errors wrapped.
func (c *Client) Timestamp(ctx context.Context, digest []byte) (*Token, error) {
	if c.URL == "" {
		return nil, errors.New("timestamp: Client.URL is required")
	}
	h := c.Hash
	if h == 0 {
		h = crypto.SHA256
	}
	alg, err := cms.HashAlgorithm(h)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("timestamp: digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	body, err := asn1.Marshal(request{
		Version:        1,
		MessageImprint: messageImprint{HashAlgorithm: alg, HashedMessage: digest},
		ReqPolicy:      c.Policy,
		Nonce:          nonce,
		CertReq:        true,
	})
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("timestamp: %w", err)
	}
	req.Header.Set("Content-Type", ContentTypeQuery)
	req.Header.Set("Accept", ContentTypeReply)
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("timestamp: requesting %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("timestamp: reading response: %w", err)
	}
	if len(raw) > MaxResponseSize {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrMalformed, MaxResponseSize)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != ContentTypeReply {
		return nil, fmt.Errorf("%w: HTTP %d with content type %q", ErrMalformed, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	tokenDER, err := ParseResponse(raw)
	if err != nil {
		return nil, err
	}
	t, err := Parse(tokenDER)
	if err != nil {
		return nil, err
	}
	if t.Hash != h || !bytes.Equal(t.HashedMessage, digest) {
		return nil, ErrImprintMismatch
	}
	if t.Nonce == nil || t.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("%w: nonce", ErrMismatch)
	}
	if c.Policy != nil && !t.Policy.Equal(c.Policy) {
		return nil, fmt.Errorf("%w: policy %v, asked for %v", ErrMismatch, t.Policy, c.Policy)
	}
	if t.Signer == nil {
		return nil, fmt.Errorf("%w: certificate requested but not in the token", ErrMismatch)
	}
	if c.Verify != nil {
		return Verify(t.Raw, digest, c.Verify)
	}
	return t, nil
}

// ParseResponse reads a TimeStampResp (RFC 3161 §2.4.2) and returns its
// token (DER) when the status is granted or grantedWithMods. Any other
// status is a *StatusError (errors.Is ErrRejected); an unreadable response,
// or a granted one without a token, wraps ErrMalformed.
func ParseResponse(der []byte) ([]byte, error) {
	var r response
	rest, err := asn1.Unmarshal(der, &r)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: TimeStampResp: %v", ErrMalformed, err)
	}
	if r.Status.Status != StatusGranted && r.Status.Status != StatusGrantedWithMods {
		se := &StatusError{Status: r.Status.Status}
		for i := 0; i < r.Status.FailInfo.BitLength && i < 64; i++ {
			if r.Status.FailInfo.At(i) == 1 {
				se.FailInfo = append(se.FailInfo, i)
			}
		}
		for i, s := range r.Status.StatusString {
			if i > 0 {
				se.Text += "; "
			}
			se.Text += s
		}
		return nil, se
	}
	if len(r.TimeStampToken.FullBytes) == 0 {
		return nil, fmt.Errorf("%w: status granted but no token", ErrMalformed)
	}
	return r.TimeStampToken.FullBytes, nil
}
