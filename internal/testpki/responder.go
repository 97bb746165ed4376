package testpki

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/crypto/ocsp"
)

// maxOCSPRequest bounds what the responder reads from a request body.
const maxOCSPRequest = 64 << 10

func (p *PKI) handler() http.Handler {
	mux := http.NewServeMux()
	count := func(path string) {
		p.mu.Lock()
		p.counts[path]++
		p.mu.Unlock()
	}
	mux.HandleFunc("/ocsp", func(w http.ResponseWriter, r *http.Request) {
		count("/ocsp")
		if r.Method != http.MethodPost {
			http.Error(w, "POST only at /ocsp; GET at /ocsp/{base64}", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxOCSPRequest))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.answerOCSP(w, body)
	})
	mux.HandleFunc("/ocsp/", func(w http.ResponseWriter, r *http.Request) {
		count("/ocsp")
		// RFC 6960 Appendix A.1: GET {url}/{url-encoding of base64 of DER}.
		enc := strings.TrimPrefix(r.URL.EscapedPath(), "/ocsp/")
		if s, err := url.PathUnescape(enc); err == nil {
			enc = s
		}
		der, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			w.Header().Set("Content-Type", "application/ocsp-response")
			_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
			return
		}
		p.answerOCSP(w, der)
	})
	crl := func(path string, issuer func() *Cert, revoked func() []x509.RevocationListEntry) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			count(path)
			der, err := p.CRL(issuer(), revoked())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/pkix-crl")
			_, _ = w.Write(der)
		})
	}
	crl("/int.crl", func() *Cert { return p.Intermediate }, func() []x509.RevocationListEntry {
		return []x509.RevocationListEntry{{SerialNumber: p.Revoked.Cert.SerialNumber, RevocationTime: RevokedAt, ReasonCode: ocsp.KeyCompromise}}
	})
	crl("/root.crl", func() *Cert { return p.Root }, func() []x509.RevocationListEntry { return nil })
	cert := func(path string, c func() *Cert) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			count(path)
			w.Header().Set("Content-Type", "application/pkix-cert")
			_, _ = w.Write(c().Cert.Raw)
		})
	}
	cert("/root.cer", func() *Cert { return p.Root })
	cert("/int.cer", func() *Cert { return p.Intermediate })
	return mux
}

// CRL returns a DER CRL signed by issuer as of the PKI's clock
// (thisUpdate = clock, nextUpdate = clock + CRLValidity), listing revoked.
// Tests use it to build embedded CRLs without HTTP.
func (p *PKI) CRL(issuer *Cert, revoked []x509.RevocationListEntry) ([]byte, error) {
	now := p.clock()
	return x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(now.Unix()),
		ThisUpdate:                now,
		NextUpdate:                now.Add(CRLValidity),
		RevokedCertificateEntries: revoked,
	}, issuer.Cert, issuer.Key)
}

func (p *PKI) answerOCSP(w http.ResponseWriter, der []byte) {
	w.Header().Set("Content-Type", "application/ocsp-response")
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	resp, err := p.ocspResponse(req, requestNonce(der))
	if err != nil {
		_, _ = w.Write(ocsp.InternalErrorErrorResponse)
		return
	}
	_, _ = w.Write(resp)
}

// OCSPResponse answers req as the responder would, as of the PKI's clock.
// Requests about Intermediate are answered by Root itself; requests about
// anything Intermediate issued by the delegated OCSPSigner; requests naming
// another issuer get "unauthorized". Over HTTP, a request nonce (RFC
// 8954) is echoed in the response.
func (p *PKI) OCSPResponse(req *ocsp.Request) ([]byte, error) {
	return p.ocspResponse(req, nil)
}

func (p *PKI) ocspResponse(req *ocsp.Request, nonce []byte) ([]byte, error) {
	var issuer, responder *Cert
	switch {
	case matchesIssuer(req, p.Root.Cert):
		issuer, responder = p.Root, p.Root
	case matchesIssuer(req, p.Intermediate.Cert):
		issuer, responder = p.Intermediate, p.OCSPSigner
	default:
		return ocsp.UnauthorizedErrorResponse, nil
	}
	now := p.clock()
	res := ocspResult{
		serial: req.SerialNumber, status: ocsp.Unknown,
		producedAt: now, thisUpdate: now, nextUpdate: now.Add(OCSPValidity),
		issuer: issuer.Cert, responder: responder, includeCert: responder != issuer,
		nonce: nonce,
	}
	p.mu.Lock()
	st, known := p.statuses[req.SerialNumber.String()]
	p.mu.Unlock()
	// Only the Intermediate is issued by Root; any other serial under
	// Root is unknown.
	if issuer == p.Root && req.SerialNumber.Cmp(p.Intermediate.Cert.SerialNumber) != 0 {
		known = false
	}
	if known {
		res.status = ocsp.Good
		if st.revoked && !now.Before(st.revokedAt) {
			res.status = ocsp.Revoked
			res.revokedAt = st.revokedAt
			res.reason = st.reason
		}
	}
	return createOCSPResponse(res)
}

func matchesIssuer(req *ocsp.Request, issuer *x509.Certificate) bool {
	// Build a request for a dummy serial with the same hash and compare
	// the issuer hashes: x/crypto/ocsp computes them the RFC 6960 way.
	der, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(1), RawIssuer: issuer.RawSubject}, issuer, &ocsp.RequestOptions{Hash: req.HashAlgorithm})
	if err != nil {
		return false
	}
	r, err := ocsp.ParseRequest(der)
	if err != nil {
		return false
	}
	return string(r.IssuerKeyHash) == string(req.IssuerKeyHash) && string(r.IssuerNameHash) == string(req.IssuerNameHash)
}

// OCSPFor returns a DER OCSP response about c (issued by issuer) as of the
// PKI's clock, without HTTP: for tests that embed revocation data.
func (p *PKI) OCSPFor(c, issuer *Cert) ([]byte, error) {
	der, err := ocsp.CreateRequest(c.Cert, issuer.Cert, nil)
	if err != nil {
		return nil, err
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return nil, err
	}
	return p.OCSPResponse(req)
}
