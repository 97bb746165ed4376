package signature

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"

	"golang.org/x/crypto/ocsp"

	"github.com/keiyaku/keiyaku/internal/pdf"
)

// Limits on what the DSS may make us read.
const (
	maxDSSItems    = 1000
	maxDSSItemSize = 1 << 20
	maxDSSVersions = 64
)

// dssData is the document security store (ETSI EN 319 142-1 §5.4.2):
// validation material kept in the PDF for long-term validation. Each
// revision that changed /DSS gives a version; certs, ocsps and crls are the
// union of all versions, for path building and revocation checks.
type dssData struct {
	versions []*dssVersion
	certs    []*x509.Certificate
	ocsps    [][]byte
	crls     [][]byte
}

// dssVersion is the DSS as a revision left it.
type dssVersion struct {
	rev   int
	certs []*x509.Certificate
	ocsps [][]byte
	crls  [][]byte
}

// readDSS reads every version of the DSS, oldest first.
func (v *validator) readDSS() *dssData {
	d := &dssData{}
	seenCert := map[string]bool{}
	seenData := map[string]bool{}
	var prev pdf.Object
	for i := range v.f.Revisions() {
		if len(d.versions) >= maxDSSVersions {
			break
		}
		cat, err := v.f.Catalog(i)
		if err != nil || cat == nil || cat["DSS"] == nil {
			continue
		}
		// A revision that neither points the catalog elsewhere nor
		// redefines the DSS object keeps the previous version.
		ref, isRef := cat["DSS"].(pdf.Ref)
		if isRef && prev == pdf.Object(ref) {
			if _, def, ok := v.f.EntryFor(ref, i); ok && def < i {
				continue
			}
		}
		prev = cat["DSS"]
		dss, _ := v.resolveDict(cat["DSS"], i)
		if dss == nil {
			continue
		}
		ver := &dssVersion{rev: i}
		for _, b := range v.streamsOf(dss["Certs"], i) {
			c, err := x509.ParseCertificate(b)
			if err != nil {
				continue
			}
			ver.certs = append(ver.certs, c)
			if !seenCert[string(b)] {
				seenCert[string(b)] = true
				d.certs = append(d.certs, c)
			}
		}
		ver.ocsps = v.streamsOf(dss["OCSPs"], i)
		ver.crls = v.streamsOf(dss["CRLs"], i)
		for _, b := range ver.ocsps {
			if !seenData[string(b)] {
				seenData[string(b)] = true
				d.ocsps = append(d.ocsps, b)
			}
		}
		for _, b := range ver.crls {
			if !seenData[string(b)] {
				seenData[string(b)] = true
				d.crls = append(d.crls, b)
			}
		}
		d.versions = append(d.versions, ver)
	}
	return d
}

// streamsOf reads the decoded data of every stream in an array.
func (v *validator) streamsOf(o pdf.Object, rev int) [][]byte {
	a, _ := v.f.Resolve(o, rev)
	arr, _ := a.(pdf.Array)
	var out [][]byte
	for i, x := range arr {
		if i >= maxDSSItems {
			break
		}
		so, _ := v.f.Resolve(x, rev)
		s, ok := so.(*pdf.Stream)
		if !ok {
			continue
		}
		rd, err := v.f.StreamReader(s, true)
		if err != nil {
			continue
		}
		b, err := readLimited(rd, maxDSSItemSize)
		if err != nil {
			continue
		}
		out = append(out, b)
	}
	return out
}

// covers reports whether this DSS version (with the CMS) holds what a
// verifier needs later for the signer (ETSI EN 319 142-1 §6.3, B-LT): every
// certificate of its path up to a self-signed certificate or a trust
// anchor, and revocation data about each certificate of the path but that
// last one. This is a statement about structure: whether the data is
// valid is decided by the revocation check.
func (ver *dssVersion) covers(cert *x509.Certificate, extra, anchors []*x509.Certificate) bool {
	if cert == nil {
		return false
	}
	pool := append(append([]*x509.Certificate{}, ver.certs...), extra...)
	c := cert
	for depth := 0; depth < 10; depth++ {
		if selfSigned(c) {
			return true // self-signed: a root needs no revocation data
		}
		if isAnchor(c, anchors) {
			return true
		}
		issuer := findIssuer(c, pool)
		if issuer == nil {
			return false
		}
		if !ver.hasRevocationFor(c) {
			return false
		}
		c = issuer
	}
	return false
}

func isAnchor(c *x509.Certificate, anchors []*x509.Certificate) bool {
	for _, a := range anchors {
		if bytes.Equal(a.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// hasRevocationFor looks for an OCSP response about c's serial number or a
// CRL issued by c's issuer. An OCSP responder certificate with
// id-pkix-ocsp-nocheck needs none (RFC 6960 §4.2.2.2.1).
func (ver *dssVersion) hasRevocationFor(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidOCSPNoCheck) {
			return true
		}
	}
	for _, der := range ver.ocsps {
		if r, err := ocsp.ParseResponse(der, nil); err == nil && r.SerialNumber != nil && r.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return true
		}
	}
	for _, der := range ver.crls {
		if l, err := x509.ParseRevocationList(der); err == nil && bytes.Equal(l.RawIssuer, c.RawIssuer) {
			return true
		}
	}
	return false
}

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// readLimited reads all of r, failing past max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than %d bytes", max)
	}
	return b, nil
}
