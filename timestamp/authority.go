package timestamp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"slices"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
)

// Content types of the RFC 3161 §3.4 HTTP protocol.
const (
	ContentTypeQuery = "application/timestamp-query"
	ContentTypeReply = "application/timestamp-reply"
)

// MaxRequestSize is the largest TimeStampReq body ServeHTTP reads; a real
// request is under 200 bytes.
const MaxRequestSize = 16 << 10

// AuthorityConfig configures a local timestamping authority.
type AuthorityConfig struct {
	// Signer is the TSA's private key; required.
	Signer crypto.Signer
	// Certificate is the TSA certificate for Signer; required. It must
	// satisfy RFC 3161 §2.3 (sole, critical id-kp-timeStamping).
	Certificate *x509.Certificate
	// Chain holds the intermediate certificates put into tokens next to
	// Certificate when the request asks for certificates; nil means none.
	Chain []*x509.Certificate
	// Policy is the TSA policy OID written into every token; required.
	Policy asn1.ObjectIdentifier
	// Accuracy is the stated accuracy of genTime; zero leaves it out.
	Accuracy time.Duration
	// Clock gives genTime; nil means time.Now. Tokens carry it to the
	// millisecond.
	Clock func() time.Time
	// Serials hands out serial numbers; required (NewFileSerialStore for a
	// real TSA, NewMemorySerialStore for tests).
	Serials SerialStore
	// Hashes are the imprint hashes accepted; nil means SHA-256, SHA-384
	// and SHA-512.
	Hashes []crypto.Hash
	// Logger receives failures ServeHTTP cannot report to the client in
	// detail; nil means slog.Default().
	Logger *slog.Logger
}

// Authority issues RFC 3161 timestamp tokens. It is safe for concurrent
// use and serves the HTTP protocol of RFC 3161 §3.4 as an http.Handler.
type Authority struct {
	cfg       AuthorityConfig
	signHash  crypto.Hash
	checkCert bool
}

// NewAuthority checks cfg and returns an Authority. The certificate must
// match the signer's public key and satisfy CheckTSACertificate.
func NewAuthority(cfg AuthorityConfig) (*Authority, error) {
	return newAuthority(cfg, true)
}

// newAuthority lets tests skip the certificate checks (export_test.go).
func newAuthority(cfg AuthorityConfig, checkCert bool) (*Authority, error) {
	switch {
	case cfg.Signer == nil:
		return nil, errors.New("timestamp: AuthorityConfig.Signer is required")
	case cfg.Certificate == nil:
		return nil, errors.New("timestamp: AuthorityConfig.Certificate is required")
	case len(cfg.Policy) == 0:
		return nil, errors.New("timestamp: AuthorityConfig.Policy is required")
	case cfg.Serials == nil:
		return nil, errors.New("timestamp: AuthorityConfig.Serials is required")
	}
	if err := CheckTSACertificate(cfg.Certificate); err != nil && checkCert {
		return nil, err
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pk, ok := cfg.Signer.Public().(equaler); !ok || !pk.Equal(cfg.Certificate.PublicKey) {
		return nil, errors.New("timestamp: AuthorityConfig.Signer does not match the certificate's public key")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Hashes == nil {
		cfg.Hashes = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
	}
	for _, h := range cfg.Hashes {
		if _, err := cms.HashOID(h); err != nil || !h.Available() {
			return nil, fmt.Errorf("timestamp: AuthorityConfig.Hashes: %v is not supported", h)
		}
	}
	a := &Authority{cfg: cfg, signHash: crypto.SHA256, checkCert: checkCert}
	// Sign with a hash as strong as the curve (NIST SP 800-57 pairing).
	if k, ok := cfg.Signer.Public().(*ecdsa.PublicKey); ok {
		switch k.Curve {
		case elliptic.P384():
			a.signHash = crypto.SHA384
		case elliptic.P521():
			a.signHash = crypto.SHA512
		}
	}
	return a, nil
}

// TimestampOptions are the per-request choices; nil means no nonce, the
// Authority's policy and no certificates in the token.
type TimestampOptions struct {
	// Nonce is echoed into the token; nil leaves it out.
	Nonce *big.Int
	// Policy is the policy the requester asks for; nil accepts the
	// Authority's. Any other value is refused (unacceptedPolicy).
	Policy asn1.ObjectIdentifier
	// CertReq puts the TSA certificate and chain into the token.
	CertReq bool
}

// Timestamp issues a token over digest, which must have been computed with
// h. A request the Authority refuses returns a *StatusError (errors.Is
// ErrRejected) with the failure bit RFC 3161 §2.4.2 assigns; failures of
// the serial store or signer, and a clock outside the TSA certificate's
// validity, are returned as other errors (ServeHTTP: systemFailure).
func (a *Authority) Timestamp(ctx context.Context, h crypto.Hash, digest []byte, opts *TimestampOptions) (*Token, error) {
	alg, err := cms.HashAlgorithm(h)
	if err != nil || !slices.Contains(a.cfg.Hashes, h) {
		return nil, reject(FailBadAlg, "hash %v not accepted", h)
	}
	algDER, err := asn1.Marshal(alg)
	if err != nil {
		return nil, err
	}
	return a.issue(ctx, h, algDER, digest, opts)
}

func (a *Authority) issue(ctx context.Context, h crypto.Hash, algDER, digest []byte, opts *TimestampOptions) (*Token, error) {
	if opts == nil {
		opts = &TimestampOptions{}
	}
	if len(digest) != h.Size() {
		return nil, reject(FailBadDataFormat, "imprint is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	if opts.Policy != nil && !opts.Policy.Equal(a.cfg.Policy) {
		return nil, reject(FailUnacceptedPolicy, "policy %v not offered", opts.Policy)
	}
	if opts.Nonce != nil && opts.Nonce.Sign() < 0 {
		return nil, reject(FailBadRequest, "negative nonce")
	}
	genTime := a.cfg.Clock().UTC().Truncate(time.Millisecond)
	if c := a.cfg.Certificate; a.checkCert && (genTime.Before(c.NotBefore) || genTime.After(c.NotAfter)) {
		// A token the TSA's own certificate does not cover would never verify.
		return nil, fmt.Errorf("timestamp: the TSA certificate is not valid at %v (valid %v to %v)", genTime, c.NotBefore, c.NotAfter)
	}
	serial, err := a.cfg.Serials.Next(ctx)
	if err != nil {
		return nil, fmt.Errorf("timestamp: serial number: %w", err)
	}
	info, err := encodeTSTInfo(&tstFields{
		policy:   a.cfg.Policy,
		hashAlg:  algDER,
		digest:   digest,
		serial:   serial,
		genTime:  genTime,
		accuracy: a.cfg.Accuracy,
		nonce:    opts.Nonce,
		tsaName:  a.cfg.Certificate.RawSubject,
	})
	if err != nil {
		return nil, fmt.Errorf("timestamp: encoding TSTInfo: %w", err)
	}
	so := &cms.SignOptions{
		Hash:             a.signHash,
		ContentType:      cms.OIDTSTInfo,
		Content:          info,
		OmitCertificates: !opts.CertReq,
		Certificates:     append([]*x509.Certificate{a.cfg.Certificate}, a.cfg.Chain...),
	}
	raw, err := cms.Sign(nil, a.cfg.Signer, a.cfg.Certificate, so)
	if err != nil {
		return nil, fmt.Errorf("timestamp: signing token: %w", err)
	}
	t, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("timestamp: token just made does not parse: %w", err)
	}
	if t.Signer == nil {
		t.Signer = a.cfg.Certificate
	}
	return t, nil
}

// ServeHTTP answers RFC 3161 §3.4 requests: a POST whose body is a DER
// TimeStampReq of content type application/timestamp-query. Every answer
// to a POST is a TimeStampResp (application/timestamp-reply): granted with
// the token, or rejection with a failure bit for a wrong content type
// (badRequest), an oversized or unparseable body (badDataFormat), an
// unaccepted hash (badAlg), policy (unacceptedPolicy) or extension
// (unacceptedExtension), with HTTP status 200; and systemFailure with
// HTTP 500 when the Authority itself fails. Other methods get 405.
func (a *Authority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "RFC 3161 requests are POSTed", http.StatusMethodNotAllowed)
		return
	}
	t, err := a.serve(r)
	var se *StatusError
	switch {
	case err == nil:
		a.reply(w, http.StatusOK, StatusGranted, "", nil, t.Raw)
	case errors.As(err, &se):
		a.reply(w, http.StatusOK, se.Status, se.Text, se.FailInfo, nil)
	default:
		a.cfg.Logger.ErrorContext(r.Context(), "timestamp: issuing token", "err", err)
		a.reply(w, http.StatusInternalServerError, StatusRejection, "system failure", []int{FailSystemFailure}, nil)
	}
}

func (a *Authority) serve(r *http.Request) (*Token, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != ContentTypeQuery {
		return nil, reject(FailBadRequest, "content type must be %s", ContentTypeQuery)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestSize+1))
	if err != nil {
		return nil, reject(FailBadDataFormat, "reading request: %v", err)
	}
	if len(body) > MaxRequestSize {
		return nil, reject(FailBadDataFormat, "request larger than %d bytes", MaxRequestSize)
	}
	req, err := parseRequest(body)
	if err != nil {
		return nil, err
	}
	h, err := cms.HashFromOID(req.MessageImprint.HashAlgorithm.Algorithm)
	if err != nil || !slices.Contains(a.cfg.Hashes, h) {
		return nil, reject(FailBadAlg, "hash algorithm %v not accepted", req.MessageImprint.HashAlgorithm.Algorithm)
	}
	if len(req.Extensions) > 0 {
		return nil, reject(FailUnacceptedExtension, "no request extensions are supported")
	}
	algDER, err := asn1.Marshal(req.MessageImprint.HashAlgorithm)
	if err != nil {
		return nil, reject(FailBadDataFormat, "hash algorithm: %v", err)
	}
	return a.issue(r.Context(), h, algDER, req.MessageImprint.HashedMessage, &TimestampOptions{
		Nonce: req.Nonce, Policy: req.ReqPolicy, CertReq: req.CertReq,
	})
}

// parseRequest parses a DER TimeStampReq; errors are *StatusError.
func parseRequest(body []byte) (*request, error) {
	var req request
	rest, err := asn1.Unmarshal(body, &req)
	if err != nil || len(rest) != 0 {
		return nil, reject(FailBadDataFormat, "not a DER TimeStampReq")
	}
	if req.Version != 1 {
		return nil, reject(FailBadRequest, "version %d, want 1", req.Version)
	}
	return &req, nil
}

func (a *Authority) reply(w http.ResponseWriter, code, status int, text string, fail []int, token []byte) {
	body, err := encodeResponse(status, text, fail, token)
	if err != nil {
		a.cfg.Logger.Error("timestamp: encoding response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentTypeReply)
	w.WriteHeader(code)
	_, _ = io.Copy(w, bytes.NewReader(body))
}
