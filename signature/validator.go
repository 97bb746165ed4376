package signature

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"github.com/keiyaku/keiyaku/internal/fifo"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/internal/revocation"
)

// Validator validates many documents under the same options. It builds the
// trust-anchor pool once and remembers the certificate paths it has
// verified, so that a service checking contract after contract from the
// same companies does not redo the same public-key operations. It is safe
// for concurrent use.
type Validator struct {
	opts ValidateOptions
	*validatorState
}

// validatorState is what a Validator and the views At makes of it share.
type validatorState struct {
	roots    *x509.CertPool
	rootsKey [32]byte // identifies the trust anchors in the path cache

	revOnce sync.Once
	rev     *revocation.Client
}

// At returns a Validator that validates at time t (zero: the time of each
// call) and otherwise shares this one's options, trust pool and caches.
func (val *Validator) At(t time.Time) *Validator {
	v := &Validator{opts: val.opts, validatorState: val.validatorState}
	v.opts.At = t
	return v
}

// revocationClient is the online OCSP/CRL client, with its cache, shared by
// every validation of this Validator.
func (val *Validator) revocationClient() *revocation.Client {
	val.revOnce.Do(func() {
		// New fails only for negative limits, which this Config has not.
		val.rev, _ = revocation.New(revocation.Config{HTTPClient: val.opts.httpClient()})
	})
	return val.rev
}

// NewValidator returns a Validator for opts (nil means the zero options,
// as for Validate). opts is copied; At, when zero, means the time of each
// Validate call.
func NewValidator(opts *ValidateOptions) *Validator {
	v := &Validator{validatorState: &validatorState{}}
	if opts != nil {
		v.opts = *opts
	}
	var p *x509.CertPool
	if v.opts.SystemRoots {
		if sp, err := x509.SystemCertPool(); err == nil {
			p = sp
		}
	}
	if p == nil {
		p = x509.NewCertPool()
	}
	h := sha256.New()
	if v.opts.SystemRoots {
		h.Write([]byte("system roots\n"))
	}
	raws := make([][]byte, 0, len(v.opts.TrustAnchors))
	for _, c := range v.opts.TrustAnchors {
		p.AddCert(c)
		raws = append(raws, c.Raw)
	}
	slices.SortFunc(raws, bytes.Compare)
	for _, r := range raws {
		sum := sha256.Sum256(r)
		h.Write(sum[:])
	}
	h.Sum(v.rootsKey[:0])
	v.roots = p
	return v
}

// Validate is the package-level Validate with the Validator's options.
func (val *Validator) Validate(ctx context.Context, r io.ReaderAt, size int64) (*Report, error) {
	return val.newRun(ctx, r, size).run()
}

func (val *Validator) newRun(ctx context.Context, r io.ReaderAt, size int64) *validator {
	return &validator{
		ctx:    ctx,
		r:      r,
		size:   size,
		opts:   &val.opts,
		at:     val.opts.at(),
		shared: val,
	}
}

// maxCachedPaths bounds paths; past it the oldest entries go.
const maxCachedPaths = 4096

// pathKey names a verified path: the trust anchors, the certificate and
// the extended key usage asked for.
type pathKey struct {
	roots [32]byte
	cert  [32]byte
	eku   x509.ExtKeyUsage
}

// paths remembers verified certificate paths, for every Validator of
// the process (keyed by the trust anchors too), so that one-shot Validate
// calls share them as well. A path found once stays cryptographically
// valid; only the validity periods depend on the time, so a hit is
// re-checked against the time asked about and falls back to a full x509
// verification when it does not hold.
var paths = fifo.New[pathKey, []*x509.Certificate](maxCachedPaths)

// chainAt builds a path from cert to a trust anchor, valid at t, for the
// extended key usage eku (x509.ExtKeyUsageAny for signers).
func (v *validator) chainAt(cert *x509.Certificate, extra []*x509.Certificate, t time.Time, eku x509.ExtKeyUsage) ([]*x509.Certificate, error) {
	k := pathKey{roots: v.shared.rootsKey, cert: sha256.Sum256(cert.Raw), eku: eku}
	if chain, ok := paths.Get(k); ok && validThroughout(chain, t) {
		return chain, nil
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         v.roots(),
		Intermediates: v.intermediates(extra),
		CurrentTime:   t,
		KeyUsages:     []x509.ExtKeyUsage{eku},
	})
	if err != nil {
		return nil, err
	}
	paths.Add(k, chains[0])
	return chains[0], nil
}

// validThroughout reports whether every certificate of chain is within its
// validity period at t, the only time-dependent part of path validation
// (RFC 5280 §6.1.3 (a)(2)).
func validThroughout(chain []*x509.Certificate, t time.Time) bool {
	for _, c := range chain {
		if t.Before(c.NotBefore) || t.After(c.NotAfter) {
			return false
		}
	}
	return true
}

func (v *validator) roots() *x509.CertPool { return v.shared.roots }

func isExpiryError(err error) bool {
	var ce x509.CertificateInvalidError
	return errors.As(err, &ce) && ce.Reason == x509.Expired
}
