package signature

import (
	"bytes"
	"crypto"
	"crypto/dsa" //nolint:staticcheck // reading old DSA signatures
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/timestamp"
)

// Sub-filters this package verifies (ISO 32000-2 §12.8.3, ETSI EN 319 142-1).
const (
	subFilterPKCS7Detached = "adbe.pkcs7.detached"
	subFilterPKCS7SHA1     = "adbe.pkcs7.sha1"
	subFilterCAdES         = "ETSI.CAdES.detached"
	subFilterRFC3161       = "ETSI.RFC3161"
)

// signedInfo is what the CMS of a signature gave.
type signedInfo struct {
	sd     *cms.SignedData
	si     *cms.SignerInfo
	cert   *x509.Certificate
	hash   crypto.Hash
	hasESS bool
	// tsPresent: a signature timestamp token that decodes is attached
	// (whether or not it verifies).
	tsPresent bool
	tsParsed  []*timestamp.Token
	tsTokens  [][]byte
	// token is the parsed RFC 3161 token of a document timestamp.
	token *timestamp.Token
	// certs are the certificates the CMS carries (for path building).
	certs []*x509.Certificate
	// crls and ocsps come from adbe-revocationInfoArchival.
	crls, ocsps [][]byte
}

// checkEntry runs the checks that need nothing but the signature itself:
// the byte range, the CMS, the digest and the signature value.
func (v *validator) checkEntry(e *entry) error {
	d := e.dict
	rep := &SignatureReport{
		Field:      e.field,
		Kind:       KindSignature,
		SubFilter:  string(d.Name("SubFilter")),
		Revision:   e.defRev + 1,
		Revocation: RevocationNotChecked,
		Level:      LevelNone,
		Coverage:   CoverageInvalid,
	}
	e.rep = rep
	vd := &e.verdict
	if s, ok := d["Reason"].(pdf.String); ok {
		rep.Reason = decodeText(s)
	}
	if s, ok := d["Location"].(pdf.String); ok {
		rep.Location = decodeText(s)
	}
	if s, ok := d["ContactInfo"].(pdf.String); ok {
		rep.ContactInfo = decodeText(s)
	}
	if s, ok := d["M"].(pdf.String); ok {
		if t, err := parsePDFDate(string(s)); err == nil {
			rep.ClaimedSigningTime = t
		}
	}
	typ := d.Name("Type")
	if rep.SubFilter == subFilterRFC3161 || typ == "DocTimeStamp" {
		rep.Kind = KindDocumentTimestamp
		if typ == "Sig" {
			// Some producers write /Type /Sig; EU DSS and pyHanko read the
			// dictionary as the document timestamp its SubFilter says it
			// is, and so does this package.
			vd.note("warning: the document timestamp's dictionary says /Type /Sig; ISO 32000-2 Table 255 asks for /Type /DocTimeStamp")
		}
	}

	// Byte range (ISO 32000-2 §12.8.1).
	rawBR, brErr := v.byteRangeOf(d)
	rep.ByteRange = rawBR
	if brErr != "" {
		vd.fail(FormatFailure, brErr)
	}
	br, brReasons := checkByteRange(rawBR, v.size)
	e.br = br
	for _, r := range brReasons {
		vd.fail(FormatFailure, r)
	}
	if v.f != nil && !e.direct && len(brReasons) == 0 && brErr == "" {
		// The dictionary that was signed is the one of the revision the
		// byte range ends at; a later redefinition (a replaced /Reason,
		// say) is a modification, judged below.
		if rev := v.revisionEndingAt(br.end); rev >= 0 && rev < e.defRev {
			if o, err := v.f.Object(e.ref, rev); err == nil {
				if d2, ok := o.(pdf.Dict); ok && d2["ByteRange"] != nil {
					e.dict, e.defRev = d2, rev
					rep.Revision = rev + 1
				}
			}
		}
	}
	contents, ok := v.contentsOf(e)
	if !ok {
		vd.fail(FormatFailure, "the signature dictionary has no /Contents string")
	}
	e.contents = contents
	if ok {
		// ISO 32000-2 §12.8.1: the placeholder left for the signature is
		// padded with zeros; anything else after the encoded CMS (or
		// token) is unsigned data hidden in the signature value.
		if cms := trimCMS(contents); len(cms) < len(contents) && !allZero(contents[len(cms):]) {
			vd.fail(FormatFailure, fmt.Sprintf("/Contents holds non-zero bytes in the %d bytes after the signature's DER encoding; its padding must be hex zeros", len(contents)-len(cms)))
		}
	}
	if len(brReasons) == 0 && brErr == "" && ok {
		e.brOK = true
		if good, why := v.gapMatches(e); !good {
			e.brOK = false
			vd.fail(FormatFailure, why)
		}
	}
	rep.Coverage = v.coverage(e)

	if !ok {
		return nil
	}
	switch rep.SubFilter {
	case subFilterPKCS7Detached, subFilterCAdES, subFilterPKCS7SHA1:
		if rep.Kind == KindDocumentTimestamp {
			return nil
		}
		return v.checkCMS(e)
	case subFilterRFC3161:
		return v.checkDocTimestamp(e)
	default:
		vd.indeterminate(FormatFailure, fmt.Sprintf("sub-filter %q is not supported; the signature cannot be checked", rep.SubFilter))
	}
	return nil
}

func (v *validator) byteRangeOf(d pdf.Dict) ([]int64, string) {
	o := d["ByteRange"]
	if v.f != nil {
		var err error
		if o, err = v.f.Resolve(o, len(v.f.Revisions())-1); err != nil {
			o = nil
		}
	}
	if o == nil {
		return nil, "the signature dictionary has no /ByteRange"
	}
	arr, ok := o.(pdf.Array)
	if !ok {
		return nil, "/ByteRange is not an array"
	}
	out := make([]int64, 0, len(arr))
	for _, x := range arr {
		n, ok := x.(int64)
		if !ok {
			return out, "/ByteRange holds something other than integers"
		}
		out = append(out, n)
	}
	return out, ""
}

func (v *validator) contentsOf(e *entry) ([]byte, bool) {
	o := e.dict["Contents"]
	if r, ok := o.(pdf.Ref); ok && v.f != nil {
		// ISO 32000-2 requires a direct string; resolve anyway to report it.
		o, _ = v.f.Resolve(r, len(v.f.Revisions())-1)
		e.verdict.fail(FormatFailure, "/Contents is an indirect object; it must be a direct string so that the byte range can exclude it")
	}
	s, ok := o.(pdf.String)
	if !ok {
		return nil, false
	}
	return []byte(s), true
}

// gapMatches checks that the gap between the two byte ranges is exactly
// this dictionary's /Contents string: in the file, inside this dictionary.
func (v *validator) gapMatches(e *entry) (bool, string) {
	good, why := gapIsContents(v.r, e.br, e.contents)
	if !good || v.f == nil {
		return good, why
	}
	if e.direct {
		start, end, err := v.f.ObjectSpan(e.fieldRef, e.defRev)
		if err != nil {
			return true, ""
		}
		if e.br.gapStart < start || e.br.gapEnd > end {
			return false, "the gap excluded by /ByteRange lies outside the signature dictionary"
		}
		return true, ""
	}
	start, end, err := v.f.ValueSpan(e.ref, e.defRev, "Contents")
	if err != nil {
		return false, "the position of /Contents in the file cannot be found: " + err.Error()
	}
	if start != e.br.gapStart || end != e.br.gapEnd {
		return false, fmt.Sprintf("the gap excluded by /ByteRange (%d-%d) is not the /Contents string of this dictionary (%d-%d): signature wrapping", e.br.gapStart, e.br.gapEnd, start, end)
	}
	return true, ""
}

// coverage classifies the byte range: the whole file, a whole earlier
// revision, or a block that ends elsewhere.
func (v *validator) coverage(e *entry) Coverage {
	if !e.brOK {
		return CoverageInvalid
	}
	if e.br.end == v.size {
		if v.f != nil {
			e.signedRev = v.revisionEndingAt(e.br.end)
		}
		return CoverageEntireFile
	}
	if v.f == nil {
		return CoveragePartial
	}
	if rev := v.revisionEndingAt(e.br.end); rev >= 0 {
		e.signedRev = rev
		return CoverageEntireRevision
	}
	e.verdict.indeterminate(FormatFailure, fmt.Sprintf("the signed bytes end at %d, which is not the end of a revision", e.br.end))
	return CoveragePartial
}

// revisionEndingAt returns the index of the revision whose %%EOF marker
// (with or without its end-of-line) ends at off, or -1.
func (v *validator) revisionEndingAt(off int64) int {
	best := -1
	for _, rv := range v.f.Revisions() {
		if off == rv.End || (off < rv.End && off >= rv.End-2 && v.onlyEOL(off, rv.End)) {
			best = rv.Index
		}
	}
	if best >= 0 {
		return best
	}
	// A revision whose xref the parser could not follow still has its
	// %%EOF marker; accept those boundaries too.
	for i, m := range v.f.EOFMarkers() {
		if off == m || (off < m && off >= m-2 && v.onlyEOL(off, m)) {
			return i
		}
	}
	return -1
}

func (v *validator) onlyEOL(from, to int64) bool {
	b := make([]byte, to-from)
	if _, err := v.r.ReadAt(b, from); err != nil {
		return false
	}
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

func (v *validator) checkCMS(e *entry) error {
	vd := &e.verdict
	rep := e.rep
	// Shared: the certificates are only read here (and copied into the
	// report by describeCertificate).
	sd, err := cms.ParseShared(trimCMS(e.contents))
	if err != nil {
		vd.fail(FormatFailure, "the CMS signature in /Contents cannot be decoded: "+err.Error())
		return nil
	}
	if len(sd.Signers) == 0 {
		vd.fail(FormatFailure, "the CMS signature has no signer")
		return nil
	}
	if len(sd.Signers) > 1 {
		vd.note(fmt.Sprintf("the CMS holds %d signer infos; the first is checked", len(sd.Signers)))
	}
	si := sd.Signers[0]
	info := &signedInfo{sd: sd, si: si, certs: sd.Certificates}
	e.signed = info
	// h is 0 for digests outside crypto.Hash (SHAKE256 with Ed448).
	h, _ := si.Hash()
	newDigest, err := si.NewDigest()
	if err != nil {
		vd.indeterminate(CryptoConstraintsFailure, "the digest algorithm is not supported: "+err.Error())
		return nil
	}
	info.hash = h
	if sd.ExtraBytes > 0 {
		vd.fail(FormatFailure, fmt.Sprintf("%d bytes of data follow the CMS signature inside /Contents", sd.ExtraBytes))
	}
	if !isDigestOID(si.DigestAlgorithm.Algorithm) {
		vd.fail(FormatFailure, fmt.Sprintf("the signer's digestAlgorithm %v is not a digest algorithm (RFC 5652 §5.3)", si.DigestAlgorithm.Algorithm))
		rep.CryptoIntact = false
		return nil
	}
	cert := sd.SignerCertificate(si)
	if cert == nil {
		cert = si.FindCertificate(v.extraCerts())
	}
	info.cert = cert
	rep.Signer = describeCertificate(cert)
	// The signing-time attribute is signed; /M is not: prefer it.
	if t, ok := si.SigningTime(); ok {
		rep.ClaimedSigningTime = t.UTC()
	}
	info.crls, info.ocsps = si.RevocationInfoArchival()
	for _, o := range sd.OtherRevocation {
		if o.Format.Equal(cms.OIDRevocationOCSPResponse) {
			info.ocsps = append(info.ocsps, o.Info)
		}
	}
	info.tsTokens = si.SignatureTimestampTokens()

	// The content whose digest the signer signed.
	var content []byte // digest of the ranges as the signer's content (adbe.pkcs7.sha1)
	e.alg = cryptoDigest(h)
	if h == 0 {
		e.alg = digestAlg{key: si.DigestAlgorithm.Algorithm.String(), new: func() hash.Hash { h, _ := si.NewDigest(); return h }}
	}
	if rep.SubFilter == subFilterPKCS7SHA1 {
		e.alg = cryptoDigest(crypto.SHA1)
	}
	e.pending = func(digest []byte, inFile bool) error {
		if !inFile {
			vd.fail(FormatFailure, "the signed byte ranges do not lie within the file")
		}
		switch rep.SubFilter {
		case subFilterPKCS7SHA1:
			if sd.Content == nil {
				vd.fail(FormatFailure, "an adbe.pkcs7.sha1 signature must encapsulate the SHA-1 digest of the signed bytes")
				return nil
			}
			if inFile && !bytes.Equal(stripOctetString(sd.Content), digest) {
				vd.fail(HashFailure, "the SHA-1 digest in the signature does not match the signed bytes: the document was changed")
			}
			content = stripOctetString(sd.Content)
			hh := newDigest
			hh.Write(content)
			digest = hh.Sum(nil)
		default:
			if sd.Content != nil {
				vd.fail(FormatFailure, "a detached PDF signature must not encapsulate content, but this CMS does")
				return nil
			}
		}
		if cert == nil {
			why := "the signer's certificate is not in the CMS, the DSS or the given intermediates"
			if sd.SkippedCertificates > 0 {
				why = fmt.Sprintf("the signer's certificate cannot be used: %d certificate(s) in the CMS use an algorithm Go cannot parse (such as a brainpool curve)", sd.SkippedCertificates)
			}
			vd.indeterminate(NoSigningCertificateFound, why)
			return nil
		}
		intact := inFile
		if len(si.RawSignedAttrs) > 0 {
			md, err := si.MessageDigest()
			switch {
			case err != nil:
				vd.fail(FormatFailure, "the signed attributes have no message digest")
				intact = false
			case inFile && !bytes.Equal(md, digest):
				vd.fail(HashFailure, "the message digest does not match the signed bytes: the document was changed after signing")
				intact = false
			}
			if !si.SignedAttrsDERSorted() {
				vd.fail(SigCryptoFailure, "the signed attributes are not DER-encoded (the SET OF is not sorted); the signature value cannot be verified over them")
				intact = false
			} else if err := si.VerifySignature(cert); err != nil {
				vd.fail(SigCryptoFailure, "the signature value does not verify with the signer's public key: "+err.Error())
				intact = false
			}
			switch err := si.CheckSigningCertificate(cert); {
			case err == nil:
				info.hasESS = true
			case errors.Is(err, cms.ErrNoSigningCertificateAttr):
				if rep.SubFilter == subFilterCAdES {
					vd.indeterminate(FormatFailure, "a CAdES signature must carry the signing-certificate-v2 attribute (ETSI EN 319 122-1 §5.2.2)")
				}
			default:
				vd.indeterminate(NoSigningCertificateFound, "the signing-certificate attribute does not identify the signer's certificate: "+err.Error())
			}
		} else {
			if rep.SubFilter == subFilterCAdES {
				vd.fail(FormatFailure, "a CAdES signature must have signed attributes")
			}
			if !inFile {
				intact = false
			} else if err := si.VerifyNoSignedAttrs(cert, digest); err != nil {
				vd.fail(SigCryptoFailure, "the signature value does not verify with the signer's public key: "+err.Error())
				intact = false
			}
			vd.note("the signature has no signed attributes: nothing binds the signer's certificate to it")
		}
		// Algorithm pairs their RFC forbids are not a weak policy choice
		// but a broken signature, whatever AllowWeakAlgorithms says.
		if err := si.CheckEdDSADigest(); err != nil {
			vd.indeterminate(CryptoConstraintsFailure, "the signature uses an algorithm combination its RFC forbids: "+err.Error())
			intact = false
		}
		rep.CryptoIntact = intact
		v.algorithmPolicy(e, h, cert)
		v.keyUsage(e, cert)
		return nil
	}
	return nil
}

// stripOctetString unwraps a DER OCTET STRING if b is one (eContent of
// adbe.pkcs7.sha1 holds the digest as an OCTET STRING).
func stripOctetString(b []byte) []byte {
	if len(b) >= 2 && b[0] == 0x04 && int(b[1]) == len(b)-2 && b[1] < 0x80 {
		return b[2:]
	}
	return b
}

// algorithmPolicy applies the default cryptographic constraints: no SHA-1,
// no RSA under 2048 bits (ETSI TS 119 312).
func (v *validator) algorithmPolicy(e *entry, h crypto.Hash, cert *x509.Certificate) {
	if v.opts.AllowWeakAlgorithms {
		return
	}
	if h == crypto.SHA1 || e.rep.SubFilter == subFilterPKCS7SHA1 {
		e.verdict.indeterminate(CryptoConstraintsFailure, "SHA-1 is too weak for signatures under the default policy")
	}
	switch pk := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if pk.N.BitLen() < 2048 {
			e.verdict.indeterminate(CryptoConstraintsFailure, fmt.Sprintf("an RSA key of %d bits is too weak under the default policy (2048 at least)", pk.N.BitLen()))
		}
	case *dsa.PublicKey:
		if pk.P.BitLen() < 2048 {
			e.verdict.indeterminate(CryptoConstraintsFailure, fmt.Sprintf("a DSA key of %d bits is too weak under the default policy (2048 at least)", pk.P.BitLen()))
		}
	}
}

// keyUsage requires digitalSignature or nonRepudiation when the signer's
// certificate restricts its key usage (RFC 5280 §4.2.1.3).
func (v *validator) keyUsage(e *entry, cert *x509.Certificate) {
	if cert.KeyUsage == 0 {
		return
	}
	if cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		e.verdict.indeterminate(ChainConstraintsFailure, "the signer's certificate does not allow digitalSignature or nonRepudiation")
	}
}

// checkDocTimestamp verifies an ETSI.RFC3161 document timestamp: the token's
// message imprint must be the digest of the signed byte ranges.
func (v *validator) checkDocTimestamp(e *entry) error {
	vd := &e.verdict
	tok, err := timestamp.Parse(trimCMS(e.contents))
	if err != nil {
		vd.fail(FormatFailure, "the timestamp token in /Contents cannot be decoded: "+err.Error())
		return nil
	}
	info := &signedInfo{token: tok, certs: tok.Certificates, hash: tok.Hash, cert: tok.Signer}
	e.signed = info
	e.rep.Signer = describeCertificate(tok.Signer)
	e.alg = cryptoDigest(tok.Hash)
	e.pending = func(digest []byte, inFile bool) error {
		if !inFile {
			vd.fail(FormatFailure, "the signed byte ranges do not lie within the file")
			return nil
		}
		if !bytes.Equal(digest, tok.HashedMessage) {
			vd.fail(HashFailure, "the timestamp's message imprint does not match the signed bytes: the document was changed")
			return nil
		}
		vt, err := timestamp.Verify(trimCMS(e.contents), digest, &timestamp.VerifyOptions{
			Roots:         v.roots(),
			Intermediates: v.intermediates(tok.Certificates),
			ExtraCerts:    v.extraCerts(),
		})
		switch {
		case err == nil || errors.Is(err, timestamp.ErrUntrusted) && vt != nil:
			// Trust is decided with the long-term rules; the cryptography
			// held.
			tok = vt
		case errors.Is(err, timestamp.ErrNoCertificate):
			vd.indeterminate(NoSigningCertificateFound, "the document timestamp does not carry its TSA certificate, and neither the DSS nor the given certificates hold it")
			return nil
		default:
			vd.fail(SigCryptoFailure, "the timestamp token does not verify: "+err.Error())
			return nil
		}
		e.rep.CryptoIntact = true
		e.signed.cert = tok.Signer
		e.rep.Signer = describeCertificate(tok.Signer)
		e.poe = append(e.poe, &poeToken{time: tok.Time, tsa: tok.Signer, certs: tok.Certificates, name: tok.TSAName})
		return nil
	}
	return nil
}

// parsePDFDate parses a PDF date string (ISO 32000-2 §7.9.4):
// D:YYYYMMDDHHmmSSOHH'mm, every part after the year optional.
func parsePDFDate(s string) (time.Time, error) {
	if len(s) >= 2 && s[:2] == "D:" {
		s = s[2:]
	}
	digits := func(i, n int, def int) int {
		if len(s) < i+n {
			return def
		}
		x := 0
		for _, c := range s[i : i+n] {
			if c < '0' || c > '9' {
				return def
			}
			x = x*10 + int(c-'0')
		}
		return x
	}
	if len(s) < 4 {
		return time.Time{}, fmt.Errorf("date %q is too short", s)
	}
	year := digits(0, 4, -1)
	if year < 0 {
		return time.Time{}, fmt.Errorf("date %q has no year", s)
	}
	mon, day := digits(4, 2, 1), digits(6, 2, 1)
	hh, mm, ss := digits(8, 2, 0), digits(10, 2, 0), digits(12, 2, 0)
	loc := time.UTC
	if len(s) > 14 {
		switch s[14] {
		case '+', '-':
			oh, om := digits(15, 2, 0), 0
			if len(s) >= 20 {
				om = digits(18, 2, 0)
			}
			off := oh*3600 + om*60
			if s[14] == '-' {
				off = -off
			}
			loc = time.FixedZone("", off)
		}
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, 0, loc).UTC(), nil
}

// isDigestOID accepts the digest algorithm identifiers of RFC 5754 and RFC
// 3370 (SHA-1, SHA-2) and NIST's SHA-3 / SHAKE arc. A signature algorithm
// in the digestAlgorithm field is an encoding error that ETSI plugtests and
// EU DSS treat as an unidentified algorithm.
func isDigestOID(oid asn1.ObjectIdentifier) bool {
	if oid.Equal(asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}) { // sha1
		return true
	}
	nist := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2}
	return len(oid) == len(nist)+1 && oid[:len(nist)].Equal(nist)
}

// extraCerts are the certificates beside the CMS that may hold the signer's:
// the DSS and the caller's intermediates.
func (v *validator) extraCerts() []*x509.Certificate {
	var out []*x509.Certificate
	if v.dss != nil {
		out = append(out, v.dss.certs...)
	}
	return append(out, v.opts.Intermediates...)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
