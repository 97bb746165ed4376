package signature

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/timestamp"
)

// poeToken is a timestamp that verified cryptographically: a proof that
// something existed at time, if its TSA can be trusted at the time the
// token itself is proven to exist.
type poeToken struct {
	time  time.Time
	tsa   *x509.Certificate
	certs []*x509.Certificate
	name  string
	// trusted is set once the TSA chain has been validated.
	trusted bool
}

// tsaCheck remembers why a timestamp's TSA was not trusted.
type tsaCheck struct {
	reason string
}

func (v *validator) intermediates(extra []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range v.opts.Intermediates {
		p.AddCert(c)
	}
	if v.dss != nil {
		for _, c := range v.dss.certs {
			p.AddCert(c)
		}
	}
	for _, c := range extra {
		p.AddCert(c)
	}
	return p
}

// longTerm decides which timestamps can be trusted, newest first: the
// newest must chain to an anchor now; an older one may instead chain at the
// time of a newer trusted document timestamp that covers it (ETSI EN 319
// 102-1 §5.6, past signature validation). Then it verifies the signature
// timestamps of each signature the same way.
func (v *validator) longTerm() error {
	docTS := v.docTimestamps()
	// Newest first.
	sort.SliceStable(docTS, func(i, j int) bool { return docTS[i].br.end > docTS[j].br.end })
	for _, t := range docTS {
		tok := t.poe[0]
		times := v.coveringTimes(t)
		if sub, why := v.trustTSA(tok, times); why != "" {
			if sub == Revoked {
				t.verdict.fail(sub, why)
			} else {
				t.verdict.indeterminate(sub, why)
			}
			continue
		}
		tok.trusted = true
		t.rep.Timestamp = &TimestampInfo{Time: tok.time.UTC(), TSA: tsaName(tok)}
		if chain, err := v.chainAt(tok.tsa, tok.certs, tok.time, x509.ExtKeyUsageTimeStamping); err == nil {
			t.rep.Chain = describeChain(chain)
		}
	}
	for _, e := range v.entries {
		if e.rep.Kind != KindSignature || e.signed == nil {
			continue
		}
		if err := v.ctx.Err(); err != nil {
			return err
		}
		v.signatureTimestamps(e)
	}
	return nil
}

func (v *validator) docTimestamps() []*entry {
	var out []*entry
	for _, e := range v.entries {
		if e.rep.Kind == KindDocumentTimestamp && len(e.poe) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// coveringTimes returns, earliest first, the times of the trusted document
// timestamps whose signed bytes include all of e's, and then the
// validation time.
func (v *validator) coveringTimes(e *entry) []time.Time {
	var ts []time.Time
	if e.brOK {
		for _, t := range v.entries {
			if t == e || t.rep.Kind != KindDocumentTimestamp || !t.brOK || len(t.poe) == 0 || !t.poe[0].trusted {
				continue
			}
			if ind, _ := t.verdict.result(); ind != TotalPassed {
				continue
			}
			if e.br.end <= t.br.gapStart {
				ts = append(ts, t.poe[0].time)
			}
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return append(ts, v.at)
}

// trustTSA validates the TSA's chain at the first of times where it holds;
// it returns why it does not hold at any, or "".
func (v *validator) trustTSA(tok *poeToken, times []time.Time) (SubIndication, string) {
	if tok.tsa == nil {
		return NoSigningCertificateFound, "the timestamp does not carry its TSA certificate"
	}
	var last error
	for _, t := range times {
		if t.Before(tok.time) {
			continue
		}
		chain, err := v.chainAt(tok.tsa, tok.certs, t, x509.ExtKeyUsageTimeStamping)
		if err == nil {
			return v.tsaRevoked(tok, chain)
		}
		last = err
	}
	switch {
	case last == nil:
		return TryLater, "the timestamp's time lies after the validation time"
	case isExpiryError(last):
		return OutOfBoundsNoPOE, "the TSA certificate has expired and no later timestamp proves the token existed while it was valid: " + last.Error()
	}
	return NoCertificateChainFound, "the TSA certificate does not chain to a trust anchor: " + last.Error()
}

// tsaRevoked fails a timestamp whose TSA certificate was revoked at or
// before the token's time (ETSI EN 319 102-1 §5.4: a revoked TSA proves
// nothing after its revocation). It asks only what the document holds (the
// DSS) and, when Online allows, the network; a revocation status it cannot
// find does not fail the token.
func (v *validator) tsaRevoked(tok *poeToken, chain []*x509.Certificate) (SubIndication, string) {
	if v.opts.revocation() == RevocationOff || len(chain) < 2 {
		return "", ""
	}
	var ocsps, crls [][]byte
	if v.dss != nil {
		ocsps, crls = append(ocsps, v.dss.ocsps...), append(crls, v.dss.crls...)
	}
	ocsps, crls = append(ocsps, v.opts.OCSPs...), append(crls, v.opts.CRLs...)
	if status, why := v.certStatus(chain[0], chain[1], tok.time, ocsps, crls); status == RevocationRevoked {
		return Revoked, "the TSA certificate " + why + ", before the token's time " + tok.time.UTC().Format(time.RFC3339)
	}
	return "", ""
}

func tsaName(t *poeToken) string {
	if t.tsa != nil {
		return nameString(t.tsa.RawSubject, t.tsa.Subject)
	}
	return t.name
}

// signatureTimestamps verifies each signature timestamp token over the
// signature value (RFC 3161 §2.4.2, RFC 5652 Annex... via ETSI EN 319
// 122-1 §5.3) and keeps the trusted ones as proofs of existence.
func (v *validator) signatureTimestamps(e *entry) {
	si := e.signed.si
	times := v.coveringTimes(e)
	for _, raw := range e.signed.tsTokens {
		tok, err := timestamp.Parse(raw)
		if err != nil {
			e.verdict.note("a signature timestamp cannot be decoded: " + err.Error())
			continue
		}
		e.signed.tsPresent = true
		e.signed.tsParsed = append(e.signed.tsParsed, tok)
		if !tok.Hash.Available() {
			e.verdict.note("a signature timestamp uses an unsupported digest algorithm")
			continue
		}
		h := tok.Hash.New()
		h.Write(si.Signature)
		vt, err := timestamp.Verify(raw, h.Sum(nil), &timestamp.VerifyOptions{
			Roots:         v.roots(),
			Intermediates: v.intermediates(tok.Certificates),
			ExtraCerts:    v.extraCerts(),
		})
		if err != nil && !(errors.Is(err, timestamp.ErrUntrusted) && vt != nil) {
			e.verdict.note("a signature timestamp does not verify over the signature value: " + err.Error())
			continue
		}
		tok = vt
		p := &poeToken{time: tok.Time, tsa: tok.Signer, certs: tok.Certificates, name: tok.TSAName}
		if _, why := v.trustTSA(p, times); why != "" {
			e.verdict.note("signature timestamp not trusted: " + why)
			e.poe = append(e.poe, p) // proves B-T structure, not time
			continue
		}
		p.trusted = true
		e.poe = append(e.poe, p)
	}
}

// proofOfExistence returns the earliest trusted time at which e is proven
// to have existed: its own trusted signature timestamps, or a trusted
// document timestamp covering it.
func (v *validator) proofOfExistence(e *entry) (time.Time, *poeToken) {
	var best *poeToken
	for _, p := range e.poe {
		if p.trusted && (best == nil || p.time.Before(best.time)) {
			best = p
		}
	}
	if e.brOK {
		for _, t := range v.entries {
			if t == e || t.rep.Kind != KindDocumentTimestamp || !t.brOK || len(t.poe) == 0 || !t.poe[0].trusted {
				continue
			}
			if e.br.end <= t.br.gapStart && (best == nil || t.poe[0].time.Before(best.time)) {
				best = t.poe[0]
			}
		}
	}
	if best == nil {
		return time.Time{}, nil
	}
	return best.time, best
}

func describeChain(chain []*x509.Certificate) []*Certificate {
	out := make([]*Certificate, len(chain))
	for i, c := range chain {
		out[i] = describeCertificate(c)
	}
	return out
}

// conclude decides what needs the whole document: the signer's chain at
// the right time, revocation, modifications, the PAdES level and the final
// indication.
func (v *validator) conclude(e *entry) {
	rep := e.rep
	vd := &e.verdict
	if e.rep.Kind == KindSignature && e.signed != nil && e.signed.cert != nil {
		v.signerChain(e)
	}
	v.modifications(e)
	if rep.Kind == KindSignature {
		rep.Level = v.level(e)
	}
	rep.Indication, rep.SubIndication = vd.result()
	rep.Reasons = vd.reasons
	rep.Problems = vd.problems
	if rep.Indication == TotalPassed {
		rep.Reasons = append([]string{passedReason(rep)}, rep.Reasons...)
	}
}

func passedReason(rep *SignatureReport) string {
	if rep.Kind == KindDocumentTimestamp {
		return "the document timestamp is valid and the signed revision has not been changed"
	}
	return "the signature is valid, the signer's certificate is trusted and the signed revision has not been changed in a way the signature forbids"
}

// signerChain validates the signer's certificate path: at the validation
// time, or, when a certificate has expired since, at the proof of
// existence given by a trusted timestamp.
func (v *validator) signerChain(e *entry) {
	cert := e.signed.cert
	vd := &e.verdict
	poeTime, poe := v.proofOfExistence(e)
	if poe != nil {
		e.rep.Timestamp = &TimestampInfo{Time: poeTime.UTC(), TSA: tsaName(poe)}
	} else if !e.rep.ClaimedSigningTime.IsZero() {
		vd.note("the signing time " + e.rep.ClaimedSigningTime.Format(time.RFC3339) + " is claimed by the signer and not proven by a timestamp")
	}
	chain, err := v.chainAt(cert, e.signed.certs, v.at, x509.ExtKeyUsageAny)
	if err != nil && isExpiryError(err) {
		if poe == nil {
			// Would the chain hold while the certificate was valid? If not,
			// the missing anchor is the real problem.
			if _, err2 := v.chainAt(cert, e.signed.certs, cert.NotAfter.Add(-time.Second), x509.ExtKeyUsageAny); err2 != nil && !isExpiryError(err2) {
				vd.indeterminate(NoCertificateChainFound, "the signer's certificate does not chain to a trust anchor (and it has expired)")
				return
			}
			vd.indeterminate(OutOfBoundsNoPOE, "a certificate in the signer's chain is outside its validity period at the validation time and no trusted timestamp proves the signature was made while it was valid: "+err.Error())
			return
		}
		chain, err = v.chainAt(cert, e.signed.certs, poeTime, x509.ExtKeyUsageAny)
		if err == nil {
			vd.note(fmt.Sprintf("the signer's certificate is no longer valid, but a trusted timestamp proves the signature existed at %s, when it was", poeTime.UTC().Format(time.RFC3339)))
		}
	}
	if err != nil {
		var ua x509.UnknownAuthorityError
		switch {
		case errors.As(err, &ua):
			vd.indeterminate(NoCertificateChainFound, "the signer's certificate does not chain to a trust anchor")
		case isExpiryError(err):
			vd.indeterminate(OutOfBoundsNoPOE, "the signer's certificate was not valid at the proven time of signing: "+err.Error())
		default:
			vd.indeterminate(CertificateChainGeneralFailure, "the signer's certificate path is not valid: "+err.Error())
		}
		return
	}
	e.rep.Chain = describeChain(chain)
	v.revocation(e, chain, poeTime)
}

// docMDP reads the DocMDP / FieldMDP transforms of a signature dictionary
// (ISO 32000-2 §12.8.2.2, §12.8.2.4).
func (v *validator) docMDP(e *entry) MDP {
	var m MDP
	// What the signer signed: the transforms and the field's /Lock as of
	// the signed revision. A later revision may add a /Lock (field
	// locking by a later signer) or rewrite an indirect transform
	// parameter; neither changes what this signature permits.
	last := len(v.f.Revisions()) - 1
	if e.signedRev >= 0 {
		last = e.signedRev
	}
	refs, _ := v.f.Resolve(e.dict["Reference"], last)
	arr, _ := refs.(pdf.Array)
	for _, r := range arr {
		rd, _ := v.resolveDict(r, last)
		if rd == nil {
			continue
		}
		params, _ := v.resolveDict(rd["TransformParams"], last)
		switch rd.Name("TransformMethod") {
		case "DocMDP":
			m.Certification = true
			m.P = 2
			if params != nil {
				if p, ok := params.Int("P"); ok && p >= 1 && p <= 3 {
					m.P = int(p)
				}
			}
		case "FieldMDP":
			if params != nil {
				m.Lock = v.fieldLock(params, last)
			}
		}
	}
	if m.Lock == nil && e.fieldRef != (pdf.Ref{}) {
		if fd, _ := v.resolveDict(e.fieldRef, last); fd != nil {
			if ld, _ := v.resolveDict(fd["Lock"], last); ld != nil {
				m.Lock = v.fieldLock(ld, last)
			}
		}
	}
	return m
}

func (v *validator) fieldLock(d pdf.Dict, rev int) *FieldLock {
	l := &FieldLock{Action: string(d.Name("Action"))}
	fo, _ := v.f.Resolve(d["Fields"], rev)
	if arr, ok := fo.(pdf.Array); ok {
		for _, x := range arr {
			xo, _ := v.f.Resolve(x, rev)
			if s, ok := xo.(pdf.String); ok {
				l.Fields = append(l.Fields, decodeText(s))
			}
		}
	}
	return l
}

func (v *validator) modifications(e *entry) {
	rep := e.rep
	if !e.brOK || e.signedRev < 0 {
		// Without a sound byte range ending at a revision, there is no
		// signed revision to compare with; the coverage verdict says why.
		rep.Modification = ModificationNone
		return
	}
	e.mdp = v.docMDP(e)
	ref := e.fieldRef
	mod, reasons := analyzeModifications(v.f, e.signedRev, ref, e.mdp)
	rep.Modification = mod
	if mod == ModificationDisallowed {
		for _, r := range reasons {
			e.verdict.fail(FormatFailure, "changed after signing: "+r)
		}
		if len(reasons) == 0 {
			e.verdict.fail(FormatFailure, "the document was changed after signing in a way the signature does not allow")
		}
	} else {
		for _, r := range reasons {
			e.verdict.note("later revision: " + r)
		}
	}
	// Bytes after the last revision (padding, NULs, line feeds, a garbage
	// block) are no part of the document: reported as not covered, and
	// they lower nothing, as in EU DSS and pyHanko. Only bytes that a
	// repairing reader could take for objects or a cross-reference
	// section (see trailingDefinesObjects) may change what is shown, and
	// are a modification.
	if e.br.end < v.size {
		if last := v.f.Revisions(); len(last) > 0 {
			end := last[len(last)-1].End
			switch {
			case end >= v.size || v.onlyEOLBytes(end, v.size):
			case v.trailingDefinesObjects(end, v.size):
				rep.Modification = ModificationDisallowed
				e.verdict.fail(FormatFailure, fmt.Sprintf("%d bytes follow the last revision and are not a proper incremental update", v.size-end))
			default:
				e.verdict.note(fmt.Sprintf("%d bytes after the last %%%%EOF (offset %d) are not covered by any signature; they define no object and change nothing shown", v.size-end, end))
			}
		}
	}
}

// onlyEOLBytes reports whether the bytes in [from, to) are at most two
// end-of-line characters, which writers put after %%EOF.
func (v *validator) onlyEOLBytes(from, to int64) bool {
	return to-from <= 2 && v.onlyWhitespace(from, to)
}

// trailingDefinesObjects reports whether the bytes in [from, to), after
// the last revision, hold any of the keywords that make objects or
// cross-reference data ("obj", "xref", "trailer", "startxref" — ISO
// 32000-2 §7.3.10, §7.5.4, §7.5.5), which a reader repairing the file
// could take as part of it. The scan reads the tail once, in chunks.
func (v *validator) trailingDefinesObjects(from, to int64) bool {
	const chunk = 64 << 10
	buf := make([]byte, chunk+16)
	keep := 0
	for off := from; off < to; {
		n := int64(chunk)
		if to-off < n {
			n = to - off
		}
		b := buf[:keep+int(n)]
		if _, err := v.r.ReadAt(b[keep:], off); err != nil {
			return true // unreadable: do not assume it is harmless
		}
		if bytes.Contains(b, []byte("obj")) || bytes.Contains(b, []byte("xref")) || bytes.Contains(b, []byte("trailer")) {
			return true
		}
		// Keep the last bytes, so that a keyword split across two chunks
		// is still found.
		keep = min(len(b), 8)
		copy(buf, b[len(b)-keep:])
		off += n
	}
	return false
}

func (v *validator) onlyWhitespace(from, to int64) bool {
	if to-from > 1024 {
		return false
	}
	b := make([]byte, to-from)
	if _, err := v.r.ReadAt(b, from); err != nil {
		return false
	}
	for _, c := range b {
		switch c {
		case ' ', '\r', '\n', '\t', '\f', 0:
		default:
			return false
		}
	}
	return true
}

// level is the PAdES baseline level of a CAdES signature (ETSI EN 319 142-1
// §6.3). One rule: an element counts only when its own cryptography holds.
// A signature whose cryptography fails (not crypto intact) has no level.
// B-B: one SignerInfo binds the signing certificate by a signed attribute.
// B-T: a signature timestamp attribute (counted as EU DSS counts the
// signature's format: present and decodable; whether it is trusted is the
// indication's business and the Timestamp field's), or a document
// timestamp over the signature whose token verifies. B-LT: a DSS updated
// after the signature that holds the signer's issuer and revocation data
// about the signer and those timestamps. B-LTA: a document timestamp over
// that DSS whose token verifies; a broken one leaves the level at B-LT.
// A document timestamp whose dictionary says /Type /Sig is validated but
// gives no level, as in EU DSS (ETSI EN 319 142-1 §5.4.2 asks for
// /Type /DocTimeStamp).
func (v *validator) level(e *entry) Level {
	s := e.signed
	if e.rep.SubFilter != subFilterCAdES || s == nil || !s.hasESS || len(s.sd.Signers) != 1 || !e.rep.CryptoIntact {
		return LevelNone
	}
	hasT := s.tsPresent
	for _, t := range v.entries {
		if t.provenTimestamp() && e.brOK && e.br.end <= t.br.gapStart {
			hasT = true
		}
	}
	if !hasT {
		return LevelBB
	}
	// The first DSS version after the signature that holds its validation
	// data, and a document timestamp over it.
	// Validation data is needed for the signer and for every timestamp
	// that gives the signature its B-T (ETSI EN 319 142-1 §6.3 B-LT).
	for _, d := range v.dss.versions {
		if d.rev <= e.signedRev || !d.covers(s.cert, s.certs, v.opts.TrustAnchors) || !v.timestampsCovered(e, d) {
			continue
		}
		for _, t := range v.entries {
			if t.provenTimestamp() && t.signedRev >= d.rev {
				return LevelBLTA
			}
		}
		return LevelBLT
	}
	return LevelBT
}

// provenTimestamp reports whether e is a document timestamp that counts
// for a PAdES level: a /DocTimeStamp whose byte range is sound, whose token
// verifies over the signed bytes and which nothing failed.
func (e *entry) provenTimestamp() bool {
	if e.rep.Kind != KindDocumentTimestamp || !e.brOK || !e.rep.CryptoIntact || e.dict.Name("Type") == "Sig" {
		return false
	}
	ind, _ := e.verdict.result()
	return ind != TotalFailed
}

// timestampsCovered reports whether DSS version d holds validation data for
// the TSAs of e's signature timestamps and of the document timestamps over
// e that came before d.
func (v *validator) timestampsCovered(e *entry, d *dssVersion) bool {
	for _, tok := range e.signed.tsParsed {
		if !d.covers(tok.Signer, tok.Certificates, v.opts.TrustAnchors) {
			return false
		}
	}
	for _, t := range v.entries {
		if t.rep.Kind != KindDocumentTimestamp || !t.brOK || t.signed == nil || !e.brOK || e.br.end > t.br.gapStart || t.signedRev >= d.rev {
			continue
		}
		if !d.covers(t.signed.cert, t.signed.certs, v.opts.TrustAnchors) {
			return false
		}
	}
	return true
}

// findIssuer returns the certificate in pool that issued c, by name and
// signature.
func findIssuer(c *x509.Certificate, pool []*x509.Certificate) *x509.Certificate {
	for _, p := range pool {
		if issuedBy(c, p) {
			return p
		}
	}
	return nil
}
