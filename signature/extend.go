package signature

import (
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/revocation"
)

// ErrMissingValidationData: AddValidationData could not find a chain or
// revocation data for some certificate; the message names them. Set
// ExtendOptions.AllowIncomplete to write what was found anyway.
var ErrMissingValidationData = errors.New("signature: validation data incomplete")

// ExtendOptions are the inputs of AddValidationData and
// AddDocumentTimestamp. A nil *ExtendOptions means the zero value.
type ExtendOptions struct {
	// Certs are extra certificates for building chains (intermediates,
	// roots) beside those in the signatures and timestamp tokens.
	Certs []*x509.Certificate
	// OCSPs and CRLs are DER OCSP responses and CRLs to embed when they
	// are about a certificate of some chain; they are preferred to online
	// data.
	OCSPs, CRLs [][]byte
	// Online fetches what is missing: issuer certificates from AIA
	// caIssuers URLs, OCSP responses (falling back to CRLs) from the
	// certificates' URLs.
	Online bool
	// HTTPClient makes the online requests; nil means a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// Clock gives the time revocation data must be current at; nil means
	// time.Now.
	Clock func() time.Time
	// AllowIncomplete writes the validation data found even when some
	// certificate lacks a chain or revocation data.
	AllowIncomplete bool

	// Timestamper issues the document timestamp; required by
	// AddDocumentTimestamp.
	Timestamper Timestamper
	// Field names the document timestamp field; empty means
	// "Timestamp<n>".
	Field string
	// ContentsSize is the space reserved for the timestamp token; 0 means
	// 16 KiB.
	ContentsSize int
}

func (o *ExtendOptions) now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

// Limits of AddValidationData.
const (
	maxExtendSignatures = 1000
	maxChainLength      = 10
	maxAIASize          = 64 << 10
	maxDSSStream        = 32 << 20
)

// AddValidationData adds a Document Security Store (ETSI EN 319 142-1
// §5.4.2, ISO 32000-2 §12.8.4.3) to the PDF in (size bytes) and writes the
// result to out as one incremental update: for every signature and
// document timestamp in the file, the certificates of the signer's and
// each timestamping authority's chain, and an OCSP response or CRL for
// each certificate but self-signed roots. /Certs, /OCSPs and /CRLs hold
// every item once; /VRI has an entry per signature, keyed by the
// upper-case hex SHA-1 of its /Contents bytes, listing the items that
// concern it. An existing DSS is kept and extended. This raises B-T
// signatures to B-LT (and, after a later document timestamp, keeps B-LTA
// renewable).
//
// Revocation data comes from opts.OCSPs and opts.CRLs, then the existing
// DSS, then (with opts.Online) the network. It returns an error wrapping
// ErrMissingValidationData when a chain or revocation data is missing,
// unless opts.AllowIncomplete; ErrUnsupportedDocument when the file has no
// signature or cannot be updated. in is read, never held whole; out gets
// the input followed by the update.
func AddValidationData(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, opts *ExtendOptions) error {
	if opts == nil {
		opts = &ExtendOptions{}
	}
	u, err := swOpen(in, size)
	if err != nil {
		return err
	}
	cat0, err := u.f.Catalog(u.last)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupportedDocument, err)
	}
	cat := swCopyDict(cat0)
	sigs, err := swSignatureContents(u, cat)
	if err != nil {
		return err
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: the document has no signature", ErrUnsupportedDocument)
	}

	dss, _ := swResolveDict(u, cat["DSS"])
	dss = swCopyDict(dss)
	if dss == nil {
		dss = pdf.Dict{}
	}
	dss["Type"] = pdf.Name("DSS")
	store := &swStore{u: u, byHash: map[[32]byte]pdf.Ref{}}
	lists := map[pdf.Name]pdf.Array{}
	var knownOCSP, knownCRL [][]byte
	for _, key := range []pdf.Name{"Certs", "OCSPs", "CRLs"} {
		arr, _ := u.object(dss[key])
		a, _ := arr.(pdf.Array)
		for _, item := range a {
			ref, ok := item.(pdf.Ref)
			if !ok {
				continue
			}
			data, err := swStreamData(u, ref)
			if err != nil {
				continue
			}
			store.byHash[sha256.Sum256(data)] = ref
			lists[key] = append(lists[key], ref)
			switch key {
			case "OCSPs":
				knownOCSP = append(knownOCSP, data)
			case "CRLs":
				knownCRL = append(knownCRL, data)
			}
		}
	}
	vriObj, _ := swResolveDict(u, dss["VRI"])
	vri := swCopyDict(vriObj)
	if vri == nil {
		vri = pdf.Dict{}
	}

	g := &swGatherer{
		ctx: ctx, opts: opts, at: opts.now(),
		ocsps: append(append([][]byte{}, opts.OCSPs...), knownOCSP...),
		crls:  append(append([][]byte{}, opts.CRLs...), knownCRL...),
		pool:  append([]*x509.Certificate{}, opts.Certs...),
		done:  map[string]*swRevInfo{},
	}
	if opts.Online {
		g.client = sharedRevocationClient(opts.HTTPClient)
	}
	var problems []string
	for _, s := range sigs {
		// Accepts the zero padding. Shared: the certificates are only
		// read (chains are built from them and their DER stored).
		sd, err := cms.ParseShared(s.raw)
		if err != nil || len(sd.Signers) != 1 {
			problems = append(problems, fmt.Sprintf("field %q: CMS does not parse", s.field))
			continue
		}
		g.pool = append(g.pool, sd.Certificates...)
		// The signer, then every signature timestamp's TSA.
		type leafOf struct {
			cert  *x509.Certificate
			token []byte // nil for the signer
		}
		leaves := []leafOf{{cert: sd.SignerCertificate(sd.Signers[0])}}
		for _, tok := range sd.Signers[0].SignatureTimestampTokens() {
			if tsd, err := cms.ParseShared(tok); err == nil && len(tsd.Signers) == 1 {
				g.pool = append(g.pool, tsd.Certificates...)
				leaves = append(leaves, leafOf{cert: tsd.SignerCertificate(tsd.Signers[0]), token: tok})
			}
		}
		var certs, ocsps, crls pdf.Array
		for _, leaf := range leaves {
			if leaf.cert == nil {
				problems = append(problems, fmt.Sprintf("field %q: signer or TSA certificate not in the CMS", s.field))
				continue
			}
			var lc, lo, lr pdf.Array
			chain, err := g.chain(leaf.cert)
			if err != nil {
				problems = append(problems, fmt.Sprintf("field %q: %v", s.field, err))
			}
			for i, c := range chain {
				ref, err := store.put(c.Raw)
				if err != nil {
					return err
				}
				lc = swAppendRef(lc, ref)
				if i+1 >= len(chain) {
					break // the anchor: no revocation data
				}
				ri, err := g.revocation(c, chain[i+1])
				if err != nil {
					problems = append(problems, fmt.Sprintf("field %q: %s: %v", s.field, c.Subject, err))
					continue
				}
				ref, err = store.put(ri.raw)
				if err != nil {
					return err
				}
				if ri.ocsp {
					lo = swAppendRef(lo, ref)
				} else {
					lr = swAppendRef(lr, ref)
				}
				if ri.responder != nil && !ri.responder.Equal(chain[i+1]) {
					rref, err := store.put(ri.responder.Raw)
					if err != nil {
						return err
					}
					lc = swAppendRef(lc, rref)
				}
			}
			if leaf.token != nil {
				// The token is a signature of its own: give it an
				// entry keyed by the SHA-1 of its DER.
				vri[swVRIKey(leaf.token)] = swVRIEntry(lc, lo, lr)
			}
			certs, ocsps, crls = swMergeRefs(certs, lc), swMergeRefs(ocsps, lo), swMergeRefs(crls, lr)
		}
		lists["Certs"] = swMergeRefs(lists["Certs"], certs)
		lists["OCSPs"] = swMergeRefs(lists["OCSPs"], ocsps)
		lists["CRLs"] = swMergeRefs(lists["CRLs"], crls)
		vri[swVRIKey(s.raw)] = swVRIEntry(certs, ocsps, crls)
	}
	if len(problems) > 0 && !opts.AllowIncomplete {
		return fmt.Errorf("%w: %s", ErrMissingValidationData, strings.Join(problems, "; "))
	}
	for key, items := range lists {
		dss[key] = items
	}
	dss["VRI"] = vri
	dssRef := u.newRef()
	if r, ok := cat["DSS"].(pdf.Ref); ok {
		dssRef = r
	}
	if err := u.set(dssRef, dss); err != nil {
		return err
	}
	if _, ok := cat["DSS"].(pdf.Ref); !ok {
		rootRef, ok := u.trailer["Root"].(pdf.Ref)
		if !ok {
			return fmt.Errorf("%w: trailer /Root is not an indirect reference", ErrUnsupportedDocument)
		}
		cat["DSS"] = dssRef
		if err := u.set(rootRef, cat); err != nil {
			return err
		}
	}
	inc, err := u.build()
	if err != nil {
		return err
	}
	return swWriteOut(in, size, inc, out)
}

func swWriteOut(in io.ReaderAt, size int64, inc []byte, out io.Writer) error {
	if _, err := io.Copy(out, io.NewSectionReader(in, 0, size)); err != nil {
		return fmt.Errorf("signature: copy input: %w", err)
	}
	if _, err := out.Write(inc); err != nil {
		return fmt.Errorf("signature: write output: %w", err)
	}
	return nil
}

// swVRIKey is the key of a /VRI entry: upper-case hex SHA-1 of the
// signature bytes (ETSI EN 319 142-1 §5.4.2.2; for a PDF signature, the
// whole /Contents string).
func swVRIKey(sig []byte) pdf.Name {
	sum := sha1.Sum(sig)
	return pdf.Name(strings.ToUpper(hex.EncodeToString(sum[:])))
}

func swVRIEntry(certs, ocsps, crls pdf.Array) pdf.Dict {
	e := pdf.Dict{}
	if len(certs) > 0 {
		e["Cert"] = certs
	}
	if len(ocsps) > 0 {
		e["OCSP"] = ocsps
	}
	if len(crls) > 0 {
		e["CRL"] = crls
	}
	return e
}

func swMergeRefs(a, b pdf.Array) pdf.Array {
	for _, r := range b {
		if ref, ok := r.(pdf.Ref); ok {
			a = swAppendRef(a, ref)
		}
	}
	return a
}

func swAppendRef(a pdf.Array, r pdf.Ref) pdf.Array {
	for _, x := range a {
		if x == r {
			return a
		}
	}
	return append(a, r)
}

// swStore writes each distinct DER item once as a Flate stream.
type swStore struct {
	u      *swUpdate
	byHash map[[32]byte]pdf.Ref
}

func (s *swStore) put(der []byte) (pdf.Ref, error) {
	h := sha256.Sum256(der)
	if r, ok := s.byHash[h]; ok {
		return r, nil
	}
	// Stored without a filter: DER certificates, OCSP responses and CRLs
	// compress little, and a deflate writer costs a megabyte of tables.
	r := s.u.newRef()
	if err := s.u.setStream(r, pdf.Dict{}, der); err != nil {
		return pdf.Ref{}, err
	}
	s.byHash[h] = r
	return r, nil
}

func swStreamData(u *swUpdate, ref pdf.Ref) ([]byte, error) {
	o, err := u.f.Object(ref, u.last)
	if err != nil {
		return nil, err
	}
	st, ok := o.(*pdf.Stream)
	if !ok {
		return nil, fmt.Errorf("%v is not a stream", ref)
	}
	r, err := u.f.StreamReader(st, true)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDSSStream+1))
	if err != nil || len(b) > maxDSSStream {
		return nil, fmt.Errorf("stream %v unreadable or too large", ref)
	}
	return b, nil
}

type swSig struct {
	field string
	raw   []byte // /Contents as stored, zero padding included
	docTS bool
}

// swSignatureContents lists the signed signature fields of the newest
// revision (walking /Fields and /Kids within limits).
func swSignatureContents(u *swUpdate, cat pdf.Dict) ([]swSig, error) {
	acro, _ := swResolveDict(u, cat["AcroForm"])
	fo, _ := u.object(acro["Fields"])
	fields, _ := fo.(pdf.Array)
	var out []swSig
	budget := swMaxFields
	var walk func(o pdf.Object, name string, ft pdf.Name, depth int) error
	walk = func(o pdf.Object, name string, ft pdf.Name, depth int) error {
		if budget--; budget < 0 || depth > swMaxTree {
			return fmt.Errorf("%w: form field tree too large or deep", ErrUnsupportedDocument)
		}
		d, ok := swResolveDict(u, o)
		if !ok {
			return nil
		}
		if t := swDecodeText(d["T"]); t != "" {
			if name != "" {
				name += "."
			}
			name += t
		}
		if n := d.Name("FT"); n != "" {
			ft = n
		}
		if ft == "Sig" && d["V"] != nil {
			v, ok := swResolveDict(u, d["V"])
			c, isStr := v["Contents"].(pdf.String)
			if ok && isStr {
				if len(out) == maxExtendSignatures {
					return fmt.Errorf("%w: more than %d signatures", ErrUnsupportedDocument, maxExtendSignatures)
				}
				out = append(out, swSig{field: name, raw: c, docTS: v.Name("Type") == "DocTimeStamp"})
			}
		}
		kids, _ := u.object(d["Kids"])
		arr, _ := kids.(pdf.Array)
		for _, k := range arr {
			if err := walk(k, name, ft, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range fields {
		if err := walk(f, "", "", 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// swGatherer finds chains and revocation data.
type swGatherer struct {
	ctx        context.Context
	opts       *ExtendOptions
	at         time.Time
	ocsps      [][]byte
	crls       [][]byte
	pool       []*x509.Certificate
	client     *revocation.Client
	done       map[string]*swRevInfo
	aiaFetches int
}

type swRevInfo struct {
	raw       []byte
	ocsp      bool
	responder *x509.Certificate
}

// chain returns leaf's path up to a self-signed certificate, or as far as
// it gets with an error.
func (g *swGatherer) chain(leaf *x509.Certificate) ([]*x509.Certificate, error) {
	chain := []*x509.Certificate{leaf}
	c := leaf
	for len(chain) < maxChainLength {
		if selfSigned(c) {
			return chain, nil
		}
		issuer := g.findIssuer(c)
		if issuer == nil {
			return chain, fmt.Errorf("no issuer found for %s", c.Subject)
		}
		chain = append(chain, issuer)
		c = issuer
	}
	return chain, fmt.Errorf("chain of %s longer than %d", leaf.Subject, maxChainLength)
}

func (g *swGatherer) findIssuer(c *x509.Certificate) *x509.Certificate {
	for _, cand := range g.pool {
		if issuedBy(c, cand) {
			return cand
		}
	}
	if !g.opts.Online {
		return nil
	}
	// AIA caIssuers (RFC 5280 §4.2.2.1), DER or PEM; a few per call.
	for i, u := range c.IssuingCertificateURL {
		if i == 2 || g.aiaFetches >= 20 || !strings.HasPrefix(u, "http") {
			break
		}
		g.aiaFetches++
		for _, cand := range g.fetchCerts(u) {
			g.pool = append(g.pool, cand)
			if issuedBy(c, cand) {
				return cand
			}
		}
	}
	return nil
}

func (g *swGatherer) fetchCerts(url string) []*x509.Certificate {
	hc := g.opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(g.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAIASize+1))
	if err != nil || len(b) > maxAIASize || resp.StatusCode != http.StatusOK {
		return nil
	}
	if c, err := x509.ParseCertificate(b); err == nil {
		return []*x509.Certificate{c}
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, c)
		}
	}
}

// revocation finds an OCSP response or CRL for c: supplied data first,
// then online.
func (g *swGatherer) revocation(c, issuer *x509.Certificate) (*swRevInfo, error) {
	key := string(issuer.RawSubjectPublicKeyInfo) + "|" + c.SerialNumber.String()
	if ri, ok := g.done[key]; ok {
		return ri, nil
	}
	usable := func(r *revocation.Result, err error) bool {
		return err == nil || errors.Is(err, revocation.ErrOutOfWindow) && r != nil
	}
	var ri *swRevInfo
	for _, der := range g.ocsps {
		if r, err := revocation.CheckOCSP(der, c, issuer, g.at); usable(r, err) {
			ri = &swRevInfo{raw: der, ocsp: true, responder: r.Responder}
			break
		}
	}
	for i := 0; ri == nil && i < len(g.crls); i++ {
		if r, err := revocation.CheckCRL(g.crls[i], c, issuer, g.at); usable(r, err) {
			ri = &swRevInfo{raw: g.crls[i]}
		}
	}
	if ri == nil && g.client != nil {
		r, err := g.client.Check(g.ctx, c, issuer, g.at)
		if !usable(r, err) {
			return nil, err
		}
		ri = &swRevInfo{raw: r.Raw, ocsp: r.Source == revocation.SourceOnlineOCSP, responder: r.Responder}
	}
	if ri == nil {
		return nil, errors.New("no OCSP response or CRL (supply one or allow Online)")
	}
	g.done[key] = ri
	return ri, nil
}

// AddDocumentTimestamp adds a document timestamp (ISO 32000-2 §12.8.5,
// ETSI EN 319 142-1 §5.4.3: /Type /DocTimeStamp, SubFilter ETSI.RFC3161)
// over the whole PDF in (size bytes) as one incremental update, turning
// B-LT into B-LTA. The token's imprint is the SHA-256 of the /ByteRange;
// opts.Timestamper is required. Errors as for Sign.
func AddDocumentTimestamp(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, opts *ExtendOptions) error {
	if opts == nil || opts.Timestamper == nil {
		return fmt.Errorf("%w: AddDocumentTimestamp needs ExtendOptions.Timestamper", ErrInvalidSignOptions)
	}
	if opts.ContentsSize < 0 || opts.ContentsSize > maxContentsSize || len(opts.Field) > 256 || strings.Contains(opts.Field, ".") {
		return fmt.Errorf("%w: ContentsSize out of range or bad Field", ErrInvalidSignOptions)
	}
	contentsSize := opts.ContentsSize
	if contentsSize == 0 {
		contentsSize = 16 << 10
	}
	u, err := swOpen(in, size)
	if err != nil {
		return err
	}
	sigRef := u.newRef()
	if err := u.set(sigRef, pdf.Dict{
		"Type":      pdf.Name("DocTimeStamp"),
		"Filter":    pdf.Name("Adobe.PPKLite"),
		"SubFilter": pdf.Name("ETSI.RFC3161"),
		"ByteRange": swRaw("[" + strings.Repeat(" ", swByteRangeWidth) + "]"),
		"Contents":  swRaw("<" + strings.Repeat("0", 2*contentsSize) + ">"),
	}); err != nil {
		return err
	}
	if _, err := swAddField(u, sigRef, swFieldSpec{name: opts.Field, prefix: "Timestamp"}); err != nil {
		return err
	}
	return swFinish(ctx, u, in, size, out, sigRef, contentsSize, crypto.SHA256, func(digest []byte) ([]byte, error) {
		return swTimestamp(ctx, opts.Timestamper, digest)
	})
}

// sharedRevocationClient returns one online OCSP/CRL client per HTTP client
// (nil: the default), so that its cache, which honours each response's
// nextUpdate and is asked with an explicit time, serves every extension:
// an archive sealing contract after contract from the same companies asks
// the same responders about the same CA certificates.
func sharedRevocationClient(hc *http.Client) *revocation.Client {
	if c, ok := revocationClients.Load(hc); ok {
		return c.(*revocation.Client)
	}
	// New fails only for negative limits, which this Config has not.
	c, _ := revocation.New(revocation.Config{HTTPClient: hc})
	actual, _ := revocationClients.LoadOrStore(hc, c)
	return actual.(*revocation.Client)
}

var revocationClients sync.Map // *http.Client -> *revocation.Client
