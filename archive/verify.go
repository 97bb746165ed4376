package archive

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// VerifyOptions are the per-call settings of VerifyPDF and VerifyFile; nil
// means the zero value.
type VerifyOptions struct {
	// At is the time to verify at; zero means Config.Clock().
	At time.Time
	// Renewals are the tokens RenewFileToken made for the file, oldest
	// first, in the order they were made. Only VerifyFile reads them; nil
	// means the first token stands alone.
	Renewals [][]byte
}

// Now is the Service's clock (Config.Clock), in UTC: the time
// verification runs at unless told otherwise.
func (s *Service) Now() time.Time { return s.clock().UTC() }

func (s *Service) at(opts *VerifyOptions) time.Time {
	if opts != nil && !opts.At.IsZero() {
		return opts.At.UTC()
	}
	return s.clock().UTC()
}

// PDFVerification is the verdict of original verification (原本検証) on a
// PDF. It is a value: a PDF that is not original is reported here, not as
// an error.
type PDFVerification struct {
	// Original is true when the file has at least one signature and one
	// document timestamp, every signature and document timestamp is
	// TOTAL_PASSED at At (ETSI EN 319 102-1), the PAdES level is B-LTA and
	// the newest document timestamp covers the entire file.
	Original bool
	// At is the time verified at.
	At time.Time
	// Size and SHA256 (lower-case hex) identify the bytes verified.
	Size   int64
	SHA256 string
	// Sealed is the time of the newest valid document timestamp, TSA its
	// authority and TSANotAfter the earliest expiry along that authority's
	// certificate chain: the evidence must be renewed (RenewPDF) before
	// then. All zero when there is no valid document timestamp.
	Sealed      time.Time
	TSA         string
	TSANotAfter time.Time
	// Report is the signature package's full verdict.
	Report *signature.Report
	// Reasons say in plain words why Original is false; when it is true,
	// one line saying what was proven.
	Reasons []string
	// Notes are Reasons with their message codes, one for one, so that
	// they can be shown in Japanese (package kerr/kmsg).
	Notes []kerr.Note
}

// VerifyPDF runs original verification on the PDF of size bytes read from
// r: it validates every signature and document timestamp at opts.At (zero:
// Config.Clock()) against Config.TrustAnchors, using the embedded DSS and,
// with Config.Online, the network, and hashes the file. Anything appended
// after the newest document timestamp, even a change the signatures allow,
// means the file is not the sealed original.
//
// It returns an error only when the check could not run: kerr.Invalid for a
// nil reader or negative size, kerr.Unavailable when reading fails or ctx
// is done. The file is streamed, never held whole.
func (s *Service) VerifyPDF(ctx context.Context, r io.ReaderAt, size int64, opts *VerifyOptions) (*PDFVerification, error) {
	const op = "archive.VerifyPDF"
	if r == nil || size < 0 {
		return nil, kerr.E(kerr.Invalid, op, "need a reader and a non-negative size (got size %d)", size)
	}
	at := s.at(opts)
	// The file's SHA-256 and its validation are each about one pass over
	// it; a large file gets them side by side (io.ReaderAt allows parallel
	// reads), a small one in turn.
	h := sha256.New()
	hashed := make(chan error, 1)
	hash := func() { hashed <- hashStream(ctx, h, io.NewSectionReader(r, 0, size)) }
	if size > 1<<20 {
		go hash()
	} else {
		hash()
	}
	rep, err := signature.Validate(ctx, r, size, &signature.ValidateOptions{
		At:            at,
		TrustAnchors:  s.cfg.TrustAnchors,
		Intermediates: s.cfg.Certs,
		Revocation:    s.cfg.Revocation,
		Online:        s.cfg.Online,
		HTTPClient:    s.cfg.HTTPClient,
	})
	if herr := <-hashed; herr != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "reading the PDF", herr)
	}
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "validating the PDF", err)
	}
	v := &PDFVerification{At: at, Size: size, SHA256: hex.EncodeToString(h.Sum(nil)), Report: rep}
	judgePDF(v)
	return v, nil
}

// judgePDF fills in Original, Sealed, TSA and Reasons from the report.
func judgePDF(v *PDFVerification) {
	rep := v.Report
	note := func(n kerr.Note) { v.Notes = append(v.Notes, n) }
	defer func() {
		v.Reasons = make([]string, len(v.Notes))
		for i, n := range v.Notes {
			v.Reasons[i] = n.Text
		}
	}()
	if rep.Error != "" {
		note(kerr.N("verify.unreadable", "the file is not a readable PDF: {error}", kerr.P("error", rep.Error)))
	}
	var sigs, stamps int
	for _, e := range rep.Signatures {
		if e.Kind == signature.KindDocumentTimestamp {
			stamps++
		} else {
			sigs++
		}
		if e.Indication != signature.TotalPassed {
			ind := string(e.Indication)
			if e.SubIndication != "" {
				ind += "/" + string(e.SubIndication)
			}
			code, word := "word.signature", "signature"
			if e.Kind == signature.KindDocumentTimestamp {
				code, word = "word.doctimestamp", "document timestamp"
			}
			if len(e.Reasons) > 0 {
				note(kerr.N("verify.entryfailedwhy", "{kind} {field} is {indication}: {why}",
					kerr.PC("kind", code, word), kerr.P("field", strconv.Quote(e.Field)), kerr.P("indication", ind), kerr.P("why", e.Reasons[0])))
			} else {
				note(kerr.N("verify.entryfailed", "{kind} {field} is {indication}",
					kerr.PC("kind", code, word), kerr.P("field", strconv.Quote(e.Field)), kerr.P("indication", ind)))
			}
		}
	}
	if sigs == 0 {
		note(kerr.N("verify.nosignature", "the file has no signature"))
	}
	newest := newestDocTimestamp(rep)
	switch {
	case newest == nil:
		note(kerr.N("verify.notsealed", "the file is not sealed: it has no document timestamp"))
	case newest.Coverage != signature.CoverageEntireFile:
		note(kerr.N("verify.changedafterseal", "the file was changed after its newest document timestamp {field} (coverage {coverage})",
			kerr.P("field", strconv.Quote(newest.Field)), kerr.P("coverage", newest.Coverage)))
	}
	if newest != nil && newest.Indication == signature.TotalPassed && newest.Timestamp != nil {
		v.Sealed = newest.Timestamp.Time
		v.TSA = newest.Timestamp.TSA
		v.TSANotAfter = earliestNotAfter(newest.Chain)
	}
	if rep.Level != signature.LevelBLTA && sigs > 0 {
		note(kerr.N("verify.level", "the signatures are at PAdES level {level}, not B-LTA", kerr.P("level", rep.Level)))
	}
	v.Original = len(v.Notes) == 0 && stamps > 0
	if v.Original {
		v.Notes = []kerr.Note{kerr.N("verify.original", "{n} signature(s) valid; sealed at {time} by {tsa}",
			kerr.P("n", sigs), kerr.P("time", v.Sealed.Format(time.RFC3339)), kerr.P("tsa", v.TSA))}
	}
}

// newestDocTimestamp is the document timestamp of the latest revision (the
// last listed among equals), or nil.
func newestDocTimestamp(rep *signature.Report) *signature.SignatureReport {
	var newest *signature.SignatureReport
	for _, e := range rep.Signatures {
		if e.Kind == signature.KindDocumentTimestamp && (newest == nil || e.Revision >= newest.Revision) {
			newest = e
		}
	}
	return newest
}

func earliestNotAfter(chain []*signature.Certificate) time.Time {
	var t time.Time
	for _, c := range chain {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// NeedsPDFRenewal reports whether a sealed PDF's evidence should be renewed
// (RenewPDF): true when the newest document timestamp's TSA chain (as
// validated in rep, a VerifyPDF or signature.Validate report) expires
// within horizon of Config.Clock(), and also when rep is nil or its newest
// document timestamp has no validated chain, since such a file cannot rely
// on its seal.
func (s *Service) NeedsPDFRenewal(rep *signature.Report, horizon time.Duration) bool {
	if rep == nil {
		return true
	}
	newest := newestDocTimestamp(rep)
	if newest == nil || len(newest.Chain) == 0 {
		return true
	}
	return !s.clock().Add(horizon).Before(earliestNotAfter(newest.Chain))
}

// FileVerification is the verdict of original verification on a non-PDF
// file and its tokens. It is a value: a file that is not original is
// reported here, not as an error.
type FileVerification struct {
	// Original is true when every token of the chain verifies (RFC 3161
	// signature, ESS certificate binding, TSA extended key usage, chain to
	// Config.TrustAnchors at its own time), token k's imprint is
	// SHA-256(file ‖ token₀ ‖ … ‖ tokenₖ₋₁), each TSA chain but the newest
	// is still valid (in its validity period and, per Config.Revocation,
	// not revoked) at the time of the next token, and the newest is valid
	// at At.
	Original bool
	// Failed is true when the evidence is proven wrong for this file (a
	// hash does not match: the file or the evidence was changed; or a
	// token's signature does not verify); false with Original false means
	// the evidence proves nothing either way (INDETERMINATE: a TSA was not
	// valid or trusted when it had to be).
	Failed bool
	// At is the time verified at.
	At time.Time
	// SHA256 (lower-case hex) identifies the file's bytes.
	SHA256 string
	// Time is when the first token proves the file existed, and TSA who
	// says so; zero when the first token does not verify.
	Time time.Time
	TSA  string
	// Record is true when the evidence was an RFC 4998 evidence record
	// (SealFile), false for a token chain (StampFile, RenewFileToken).
	Record bool
	// Tokens has one entry per token, the first token then the renewals
	// (for a record: every archive timestamp, oldest first).
	Tokens []TokenCheck
	// Reasons say in plain words why Original is false; when it is true,
	// one line saying what was proven.
	Reasons []string
	// Notes are Reasons with their message codes where they have one
	// (package kerr/kmsg), one for one.
	Notes []kerr.Note
}

// TokenCheck is what VerifyFile found about one token.
type TokenCheck struct {
	// Time is the token's genTime and TSA its authority; zero when the
	// token does not parse.
	Time time.Time
	TSA  string
	// TSANotAfter is the earliest expiry along the TSA's certificate
	// chain; zero when no chain was found.
	TSANotAfter time.Time
	// Valid is true when the token verifies, stamps what it must, and its
	// TSA chain is valid when it needs to be.
	Valid bool
	// Hash is the hash algorithm of the token's chain.
	Hash crypto.Hash
}

// VerifyFile runs original verification on the file read from r against
// its evidence, at opts.At (zero: Config.Clock()). The evidence is either
// an RFC 4998 evidence record (from SealFile, RenewRecords,
// RenewRecordHashTree or ConvertTokenChain; checked by ers.Verify, with
// Config.Revocation for every TSA chain) or, as before, a token (from
// StampFile) with opts.Renewals (from RenewFileToken). The file is
// streamed once.
//
// It returns an error only when the check could not run: kerr.Invalid for a
// nil reader or a chain longer than MaxTokens or with an empty or oversized
// token, kerr.Unavailable when reading fails or ctx is done. A token that
// does not parse or verify makes a verdict with Original false.
func (s *Service) VerifyFile(ctx context.Context, r io.Reader, token []byte, opts *VerifyOptions) (*FileVerification, error) {
	const op = "archive.VerifyFile"
	if r == nil {
		return nil, kerr.E(kerr.Invalid, op, "nil reader")
	}
	if rec, err := ers.Parse(token); err == nil {
		if opts != nil && len(opts.Renewals) > 0 {
			return nil, kerr.E(kerr.Invalid, op, "an evidence record carries its own renewals; VerifyOptions.Renewals is for token chains")
		}
		return s.verifyRecord(ctx, op, r, rec, s.at(opts))
	}
	chain := [][]byte{token}
	if opts != nil {
		chain = append(chain, opts.Renewals...)
	}
	if err := checkChainShape(chain, MaxTokens); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "", err)
	}
	at := s.at(opts)
	h := sha256.New()
	if err := hashStream(ctx, h, r); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "reading the file", err)
	}
	v := &FileVerification{At: at, SHA256: hex.EncodeToString(h.Sum(nil))}
	var first *timestamp.Token
	var err error
	v.Tokens, v.Reasons, first, v.Failed, err = s.tokenChain(ctx, h, chain, at)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if first != nil {
		v.Time, v.TSA = first.Time, tsaName(first)
	}
	v.Original = len(v.Reasons) == 0
	if v.Original {
		n := kerr.N("verify.fileexisted", "the file existed at {time} ({tsa}), proven by {n} token(s)",
			kerr.P("time", v.Time.Format(time.RFC3339)), kerr.P("tsa", v.TSA), kerr.P("n", len(chain)))
		v.Reasons, v.Notes = []string{n.Text}, []kerr.Note{n}
	} else {
		v.Notes = plainNotes(v.Reasons)
	}
	return v, nil
}

// plainNotes are reasons without message codes, as Notes.
func plainNotes(reasons []string) []kerr.Note {
	out := make([]kerr.Note, len(reasons))
	for i, r := range reasons {
		out[i] = kerr.Note{Text: r}
	}
	return out
}

// tokenChain checks a token chain (StampFile's token, then
// RenewFileToken's renewals) given h, a SHA-256 that has read the file: token
// k must stamp SHA-256(file ‖ token₀ ‖ … ‖ tokenₖ₋₁), each TSA chain must
// be valid (and, per Config.Revocation, not revoked) when the next token
// was made, the newest at at. It returns a check per token, the reasons
// the chain fails (none when it holds), the first token when it verifies
// and whether a token is proven wrong (FileVerification.Failed); the error
// is only ctx's. h is written to.
func (s *Service) tokenChain(ctx context.Context, h hash.Hash, chain [][]byte, at time.Time) (checks []TokenCheck, reasons []string, first *timestamp.Token, failed bool, err error) {
	checks = make([]TokenCheck, len(chain))
	roots, inter := s.pools()
	toks := make([]*timestamp.Token, len(chain))
	for k, der := range chain {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, false, err
		}
		name := tokenName(k)
		if p, err := timestamp.Parse(der); err == nil && p.Hash != crypto.SHA256 {
			h.Write(der)
			checks[k].Time, checks[k].TSA = p.Time, p.TSAName
			reasons = append(reasons, fmt.Sprintf("%s: its imprint is %v, but this evidence is SHA-256 (RFC 3161 §2.4.1 messageImprint)", name, p.Hash))
			continue
		}
		tok, err := timestamp.Verify(der, h.Sum(nil), &timestamp.VerifyOptions{Roots: roots, Intermediates: inter, ExtraCerts: s.cfg.Certs})
		h.Write(der)
		if err != nil {
			if p, perr := timestamp.Parse(der); perr == nil {
				checks[k].Time, checks[k].TSA = p.Time, p.TSAName
			}
			reasons = append(reasons, name+": "+verifyReason(k, err))
			failed = failed || !errors.Is(err, timestamp.ErrUntrusted) && !errors.Is(err, timestamp.ErrNoCertificate) && !errors.Is(err, timestamp.ErrUnsupported)
			continue
		}
		toks[k] = tok
		checks[k].Time, checks[k].TSA, checks[k].Hash = tok.Time, tsaName(tok), crypto.SHA256
		checks[k].Valid = true
	}
	// Each TSA must still be valid when the next token covers its token,
	// the newest at the verification time.
	for k, tok := range toks {
		if tok == nil {
			continue
		}
		need, what := at, "at the verification time "+at.Format(time.RFC3339)
		if k+1 < len(toks) {
			if toks[k+1] == nil {
				checks[k].Valid = false
				continue // the broken renewal is already a reason
			}
			need, what = toks[k+1].Time, "when "+tokenName(k+1)+" was made ("+toks[k+1].Time.Format(time.RFC3339)+")"
			if need.Before(tok.Time) {
				checks[k].Valid = false
				reasons = append(reasons, fmt.Sprintf("%s is dated before %s, which it covers", tokenName(k+1), tokenName(k)))
				continue
			}
		}
		path, err := tok.Signer.Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: withCerts(inter, tok.Certificates), CurrentTime: need,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		})
		if err != nil {
			checks[k].Valid = false
			why := fmt.Sprintf("%s: the TSA certificate of %s is not valid %s", tokenName(k), tsaName(tok), what)
			if k+1 == len(toks) {
				why += "; renew the evidence before the TSA certificate expires"
			}
			reasons = append(reasons, why)
			continue
		}
		checks[k].TSANotAfter = chainNotAfter(path[0])
		why, err := s.pathRevocation(ctx, path[0], need)
		if err != nil {
			return nil, nil, nil, false, err
		}
		if why != "" {
			checks[k].Valid = false
			reasons = append(reasons, fmt.Sprintf("%s: the TSA chain of %s is not reliable %s: %s", tokenName(k), tsaName(tok), what, why))
		}
	}
	return checks, reasons, toks[0], failed, nil
}

func tokenName(k int) string {
	if k == 0 {
		return "the file's token"
	}
	return fmt.Sprintf("renewal %d", k)
}

func verifyReason(k int, err error) string {
	switch {
	case errors.Is(err, timestamp.ErrImprintMismatch) && k == 0:
		return "the file is not the one stamped (SHA-256 differs)"
	case errors.Is(err, timestamp.ErrImprintMismatch):
		return "does not stamp the file and the tokens before it (wrong file, or tokens missing or out of order)"
	case errors.Is(err, timestamp.ErrMalformed), errors.Is(err, timestamp.ErrUnsupported):
		return "not a timestamp token this service can read: " + err.Error()
	case errors.Is(err, timestamp.ErrUntrusted):
		return "the TSA certificate does not chain to a trusted root at the token's time: " + err.Error()
	}
	return "does not verify: " + err.Error()
}

func tsaName(t *timestamp.Token) string {
	if t.Signer != nil {
		if t.Signer.Subject.CommonName != "" {
			return t.Signer.Subject.CommonName
		}
		return t.Signer.Subject.String()
	}
	return t.TSAName
}

func (s *Service) pools() (roots, inter *x509.CertPool) {
	roots, inter = x509.NewCertPool(), x509.NewCertPool()
	for _, c := range s.cfg.TrustAnchors {
		roots.AddCert(c)
	}
	for _, c := range s.cfg.Certs {
		inter.AddCert(c)
	}
	return roots, inter
}

func withCerts(p *x509.CertPool, certs []*x509.Certificate) *x509.CertPool {
	p = p.Clone()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// chainNotAfter is the earliest NotAfter along a verified path.
func chainNotAfter(path []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range path {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// NeedsFileRenewal reports whether a file's token chain (the first token
// then its renewals, oldest first) should be renewed with RenewFileToken:
// true when the newest token's TSA chain, validated against
// Config.TrustAnchors at Config.Clock(), expires within horizon of it,
// and also when the chain is empty or its newest token cannot be parsed or
// validated now, since such evidence cannot be relied on.
func (s *Service) NeedsFileRenewal(tokens [][]byte, horizon time.Duration) bool {
	if len(tokens) == 0 || len(tokens[len(tokens)-1]) > MaxTokenSize {
		return true
	}
	newest := tokens[len(tokens)-1]
	p, err := timestamp.Parse(newest)
	if err != nil {
		return true
	}
	// Verify against its own imprint: this checks the signature and finds
	// the TSA certificate (in the token or Config.Certs); whether the
	// imprint matches the file is VerifyFile's question.
	roots, inter := s.pools()
	tok, err := timestamp.Verify(newest, p.HashedMessage, &timestamp.VerifyOptions{Roots: roots, Intermediates: inter, ExtraCerts: s.cfg.Certs})
	if err != nil {
		return true
	}
	now := s.clock()
	chains, err := tok.Signer.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: withCerts(inter, tok.Certificates), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return true
	}
	return !now.Add(horizon).Before(chainNotAfter(chains[0]))
}
