package ers

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/timestamp"
)

// VerifyOptions say what Verify trusts and when.
type VerifyOptions struct {
	// At is the time to verify at; required (nothing here reads the
	// clock).
	At time.Time
	// Roots are the trusted roots of the TSA certificates; nil means none,
	// so no record verifies.
	Roots *x509.CertPool
	// Intermediates and ExtraCerts help build TSA chains (ExtraCerts are
	// also candidates for a TSA certificate a token does not carry); nil
	// means none beyond those in the tokens.
	Intermediates *x509.CertPool
	ExtraCerts    []*x509.Certificate
	// CheckPath checks the revocation status of a TSA chain (path[0] is
	// the TSA certificate) at time at, when the next timestamp covered it
	// or, for the newest, at At. It returns "" when the chain is reliable,
	// a reason when it is not, an error when the check could not run. nil
	// means validity periods only.
	CheckPath func(ctx context.Context, path []*x509.Certificate, at time.Time) (string, error)
	// Vouch may take over, for an ArchiveTimeStamp whose Attributes
	// carry evidence this package does not know (such as the token chain
	// a record was converted from), the check that its TSA was valid
	// until until: the next stamp's time, or At for the newest. It
	// returns handled false to leave the check to Verify; handled true
	// with "" when the stamp holds until then, or with a reason when it
	// does not; an error when the check could not run. nil means Verify
	// checks every stamp itself.
	Vouch func(ctx context.Context, c, j int, a *ArchiveTimeStamp, until time.Time) (handled bool, reason string, err error)
}

// Result is the verdict on a record for one data object. It is a value: a
// record that does not prove anything is reported here, not as an error.
type Result struct {
	// Valid is true when every ArchiveTimeStamp verifies and covers what
	// it must (the data object, the earlier timestamps, the earlier
	// chains), each TSA chain is valid (and, with CheckPath, reliable)
	// when the next timestamp covered it, and the newest at At.
	Valid bool
	// Failed is true when the record is proven wrong for this data: a
	// hash does not match (the data or the record was changed) or a
	// token's signature does not verify. When Valid and Failed are both
	// false the record proves nothing either way (INDETERMINATE): a TSA
	// certificate was not valid, trusted or reliable when it had to be.
	Failed bool
	// At is the time verified at.
	At time.Time
	// Time is when the first timestamp proves the data object existed and
	// TSA who says so; zero when that timestamp does not verify.
	Time time.Time
	TSA  string
	// Stamps has one entry per ArchiveTimeStamp, oldest first.
	Stamps []StampCheck
	// Reasons say in plain words why Valid is false; when it is true, one
	// line saying what was proven.
	Reasons []string
}

// StampCheck is what Verify found about one ArchiveTimeStamp.
type StampCheck struct {
	// Chain and Index place it in the record.
	Chain, Index int
	// Hash is its chain's hash algorithm.
	Hash crypto.Hash
	// Time is the token's genTime and TSA its authority; zero when the
	// token does not parse.
	Time time.Time
	TSA  string
	// TSANotAfter is the earliest expiry along the TSA chain; zero when no
	// chain was found.
	TSANotAfter time.Time
	// Valid is true when the stamp verifies, covers what it must and its
	// TSA chain was valid when it had to be.
	Valid bool
}

// Verify checks rec for the data object whose hashes under the record's
// DigestAlgorithms (and every chain's algorithm) are digests (HashData).
// It returns an error only when the check could not run: kerr.Invalid for
// nil arguments, a zero opts.At or a missing digest; the error of
// opts.CheckPath; ctx's error.
func Verify(ctx context.Context, rec *EvidenceRecord, digests map[crypto.Hash][]byte, opts *VerifyOptions) (*Result, error) {
	const op = "ers.Verify"
	if rec == nil || opts == nil || opts.At.IsZero() {
		return nil, kerr.E(kerr.Invalid, op, "need a record and options with At set")
	}
	if err := rec.check(); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "", err)
	}
	res := &Result{At: opts.At.UTC()}
	type stamp struct {
		tok  *timestamp.Token
		name string
		c, j int
		ats  *ArchiveTimeStamp
	}
	var all []stamp
	for c, chain := range rec.Chains {
		h, herr := rec.chainHash(c)
		for j, a := range chain {
			if err := ctx.Err(); err != nil {
				return nil, kerr.Wrap(op, err)
			}
			name := stampName(c, j)
			sc := StampCheck{Chain: c, Index: j, Hash: h}
			p, perr := timestamp.Parse(a.TimeStamp)
			if perr == nil {
				sc.Time, sc.TSA = p.Time, p.TSAName
			}
			var tok *timestamp.Token
			var why string
			switch {
			case herr != nil:
				why = "its hash algorithm is unknown: " + herr.Error()
			case a.Hash != 0 && a.Hash != h:
				why = fmt.Sprintf("its digestAlgorithm %v differs from its chain's %v (RFC 4998 §5.2)", a.Hash, h)
			case perr != nil:
				why = "the timeStamp is not a token this package can read: " + perr.Error()
				res.Failed = res.Failed || errors.Is(perr, timestamp.ErrMalformed)
			default:
				want, err := coverage(rec, c, j, h, digests)
				if err != nil {
					return nil, kerr.WrapKind(kerr.Invalid, op, "", err)
				}
				if err := covers(h, a, want); err != nil {
					why = coverReason(c, j, err)
					res.Failed = true
					break
				}
				t, err := timestamp.Verify(a.TimeStamp, p.HashedMessage, &timestamp.VerifyOptions{Roots: opts.Roots, Intermediates: opts.Intermediates, ExtraCerts: opts.ExtraCerts})
				if err != nil {
					why = "its token does not verify: " + err.Error()
					res.Failed = res.Failed || !errors.Is(err, timestamp.ErrUntrusted) && !errors.Is(err, timestamp.ErrNoCertificate) && !errors.Is(err, timestamp.ErrUnsupported)
					break
				}
				tok = t
				sc.TSA = tsaName(t)
				sc.Valid = true
			}
			if why != "" {
				res.Reasons = append(res.Reasons, name+": "+why)
			}
			res.Stamps = append(res.Stamps, sc)
			all = append(all, stamp{tok, name, c, j, a})
		}
	}
	// Each TSA must be valid when the next timestamp covers its token,
	// the newest at At (RFC 4998 §5.3).
	for k, s := range all {
		if s.tok == nil {
			continue
		}
		need, what := res.At, "at the verification time "+res.At.Format(time.RFC3339)
		if k+1 < len(all) {
			next := all[k+1]
			if next.tok == nil {
				res.Stamps[k].Valid = false
				continue // the broken renewal is already a reason
			}
			need, what = next.tok.Time, "when "+next.name+" covered it ("+next.tok.Time.Format(time.RFC3339)+")"
			if need.Before(s.tok.Time) {
				res.Stamps[k].Valid = false
				res.Reasons = append(res.Reasons, fmt.Sprintf("%s is dated before %s, which it covers", next.name, s.name))
				continue
			}
		}
		if opts.Vouch != nil {
			handled, why, err := opts.Vouch(ctx, s.c, s.j, s.ats, need)
			if err != nil {
				return nil, kerr.Wrap(op, err)
			}
			if handled {
				if why != "" {
					res.Stamps[k].Valid = false
					res.Reasons = append(res.Reasons, fmt.Sprintf("%s: not reliable %s: %s", s.name, what, why))
				}
				continue
			}
		}
		inter := x509.NewCertPool()
		if opts.Intermediates != nil {
			inter = opts.Intermediates.Clone()
		}
		for _, c := range append(s.tok.Certificates, opts.ExtraCerts...) {
			inter.AddCert(c)
		}
		paths, err := s.tok.Signer.Verify(x509.VerifyOptions{
			Roots: opts.Roots, Intermediates: inter, CurrentTime: need,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		})
		if err != nil {
			res.Stamps[k].Valid = false
			why := fmt.Sprintf("%s: the TSA certificate of %s is not valid %s", s.name, res.Stamps[k].TSA, what)
			if k+1 == len(all) {
				why += "; renew the evidence record before the TSA certificate expires"
			}
			res.Reasons = append(res.Reasons, why)
			continue
		}
		res.Stamps[k].TSANotAfter = notAfter(paths[0])
		if opts.CheckPath != nil {
			why, err := opts.CheckPath(ctx, paths[0], need)
			if err != nil {
				return nil, kerr.Wrap(op, err)
			}
			if why != "" {
				res.Stamps[k].Valid = false
				res.Reasons = append(res.Reasons, fmt.Sprintf("%s: the TSA chain of %s is not reliable %s: %s", s.name, res.Stamps[k].TSA, what, why))
			}
		}
	}
	if all[0].tok != nil {
		res.Time, res.TSA = all[0].tok.Time, res.Stamps[0].TSA
	}
	res.Valid = len(res.Reasons) == 0
	if res.Valid {
		res.Reasons = []string{fmt.Sprintf("the data existed at %s (%s), proven by %d archive timestamp(s) in %d chain(s)",
			res.Time.Format(time.RFC3339), res.TSA, len(all), len(rec.Chains))}
	}
	return res, nil
}

// coverage is what ArchiveTimeStamp j of chain c must cover (RFC 4998
// §5.3): the data object's hash (first chain), the data object's hash
// bound to the earlier chains (later chains), or the earlier timestamps
// of its chain (timestamp renewals; the newest of them is what §5.2 asks,
// and that one is required here).
func coverage(rec *EvidenceRecord, c, j int, h crypto.Hash, digests map[crypto.Hash][]byte) ([][]byte, error) {
	if j > 0 {
		prev := rec.Chains[c][j-1]
		hh := h.New()
		hh.Write(prev.TimeStamp)
		return [][]byte{hh.Sum(nil)}, nil
	}
	d, ok := digests[h]
	if !ok || len(d) != h.Size() {
		return nil, fmt.Errorf("no %v digest of the data object given (HashData with the record's DigestAlgorithms)", h)
	}
	if c == 0 {
		return [][]byte{d}, nil
	}
	return [][]byte{renewedLeaf(h, d, rec.sequenceDER(c))}, nil
}

func coverReason(c, j int, err error) string {
	if c == 0 && j == 0 {
		return "the data object is not the one sealed (its hash is not in the record): " + err.Error()
	}
	if j == 0 {
		return "does not cover the data object and the earlier chains (hash-tree renewal, RFC 4998 §5.3): " + err.Error()
	}
	return "does not cover the previous archive timestamp (timestamp renewal, RFC 4998 §5.2): " + err.Error()
}

func stampName(c, j int) string {
	return fmt.Sprintf("chain %d archive timestamp %d", c, j)
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

func notAfter(path []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range path {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}
