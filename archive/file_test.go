package archive_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

var attachment = []byte("見積書 No. 2026-001: 1,000,000 JPY\n")

func stamp(t testing.TB, s *archive.Service, file []byte) []byte {
	t.Helper()
	tok, err := s.StampFile(context.Background(), bytes.NewReader(file))
	if err != nil {
		t.Fatalf("StampFile: %v", err)
	}
	return tok
}

func verifyFile(t testing.TB, s *archive.Service, file, token []byte, opts *archive.VerifyOptions) *archive.FileVerification {
	t.Helper()
	v, err := s.VerifyFile(context.Background(), bytes.NewReader(file), token, opts)
	if err != nil {
		t.Fatalf("VerifyFile: %v", err)
	}
	return v
}

// TestStampFile: the token is an RFC 3161 token over the file's SHA-256,
// and VerifyFile accepts exactly that file.
func TestStampFile(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	tok := stamp(t, s, attachment)
	sum := sha256.Sum256(attachment)
	if _, err := timestamp.Verify(tok, sum[:], &timestamp.VerifyOptions{Roots: p.Roots()}); err != nil {
		t.Fatalf("the token must be a valid RFC 3161 token over SHA-256(file): %v", err)
	}

	v := verifyFile(t, s, attachment, tok, nil)
	if !v.Original || !v.Time.Equal(testpki.Now) || v.TSA == "" || v.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("want original at %v: %+v", testpki.Now, v)
	}
	if len(v.Tokens) != 1 || !v.Tokens[0].Valid || !v.Tokens[0].TSANotAfter.Equal(testpki.TSANotAfter) {
		t.Fatalf("token check %+v", v.Tokens)
	}

	other := stamp(t, s, []byte("another file"))
	modified := bytes.Clone(attachment)
	modified[len(modified)-2] ^= 1
	noAnchors := newService(t, p, p.TSA, testpki.Now, func(c *archive.Config) { c.TrustAnchors = nil })
	// A genuine token over the file, but with a SHA-384 imprint.
	tsa, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.TSA.Key, Certificate: p.TSA.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Policy: testpki.PolicyOID, Clock: func() time.Time { return testpki.Now }, Serials: timestamp.NewMemorySerialStore(100),
	})
	if err != nil {
		t.Fatal(err)
	}
	sum384 := sha512.Sum384(attachment)
	tok384, err := tsa.Timestamp(context.Background(), crypto.SHA384, sum384[:], &timestamp.TimestampOptions{CertReq: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		s     *archive.Service
		file  []byte
		token []byte
		at    time.Time
	}{
		{"modified file", s, modified, tok, testpki.Now},
		{"truncated file", s, attachment[:10], tok, testpki.Now},
		{"token of another file", s, attachment, other, testpki.Now},
		{"not a token", s, attachment, []byte("not DER"), testpki.Now},
		{"truncated token", s, attachment, tok[:len(tok)/2], testpki.Now},
		{"untrusted root", noAnchors, attachment, tok, testpki.Now},
		{"SHA-384 imprint", s, attachment, tok384.Raw, testpki.Now},
		{"TSA expired, no renewal", s, attachment, tok, testpki.TSANotAfter.Add(time.Hour)},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := verifyFile(t, c.s, c.file, c.token, &archive.VerifyOptions{At: c.at})
			if v.Original || len(v.Reasons) == 0 || v.Tokens[0].Valid {
				t.Fatalf("must not be original, with a reason: %+v", v)
			}
		})
	}
}

// TestFileRenewalAcrossTSAExpiry: a token by TSA (expiring T1) renewed by
// TSA2 a day before T1 keeps the file original at T2 > T1; without the
// renewal, or renewed only after T1, it is not.
func TestFileRenewalAcrossTSAExpiry(t *testing.T) {
	p := testpki.New(t)
	t0 := testpki.Now
	t1 := testpki.TSANotAfter
	renewAt := t1.Add(-24 * time.Hour)
	t2 := t1.Add(365 * 24 * time.Hour)

	tok := stamp(t, newService(t, p, p.TSA, t0, nil), attachment)
	renewer := newService(t, p, p.TSA2, renewAt, nil)
	if !renewer.NeedsFileRenewal([][]byte{tok}, 30*24*time.Hour) {
		t.Fatal("a day before expiry, a 30-day horizon must ask for renewal")
	}
	if renewer.NeedsFileRenewal([][]byte{tok}, time.Hour) {
		t.Fatal("a day before expiry, a one-hour horizon must not ask for renewal")
	}
	renewal, err := renewer.RenewFileToken(context.Background(), bytes.NewReader(attachment), [][]byte{tok})
	if err != nil {
		t.Fatalf("RenewFileToken: %v", err)
	}
	late := newService(t, p, p.TSA2, t1.Add(24*time.Hour), nil)
	lateRenewal, err := late.RenewFileToken(context.Background(), bytes.NewReader(attachment), [][]byte{tok})
	if err != nil {
		t.Fatalf("RenewFileToken after expiry: %v", err)
	}
	// A second renewal on top of the first, as the years go by.
	second, err := newService(t, p, p.TSA2, t2, nil).RenewFileToken(context.Background(), bytes.NewReader(attachment), [][]byte{tok, renewal})
	if err != nil {
		t.Fatal(err)
	}

	verifier := newService(t, p, p.TSA2, t2, nil)
	if verifier.NeedsFileRenewal([][]byte{tok, renewal}, 30*24*time.Hour) {
		t.Error("renewed by TSA2 (valid to 2036): no renewal needed in 2031")
	}
	if !verifier.NeedsFileRenewal([][]byte{tok}, 0) {
		t.Error("the TSA expired: renewal needed (the evidence is already broken)")
	}

	for _, c := range []struct {
		name     string
		file     []byte
		renewals [][]byte
		want     bool
	}{
		{"renewed before expiry", attachment, [][]byte{renewal}, true},
		{"renewed twice", attachment, [][]byte{renewal, second}, true},
		{"not renewed", attachment, nil, false},
		{"renewed after expiry", attachment, [][]byte{lateRenewal}, false},
		{"renewal of another chain", attachment, [][]byte{second}, false},
		{"renewals out of order", attachment, [][]byte{second, renewal}, false},
		{"modified file", append(bytes.Clone(attachment), '!'), [][]byte{renewal}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := verifyFile(t, verifier, c.file, tok, &archive.VerifyOptions{Renewals: c.renewals})
			if v.Original != c.want || !v.At.Equal(t2) {
				t.Fatalf("Original = %v at %v, want %v at %v: %q", v.Original, v.At, c.want, t2, v.Reasons)
			}
			if len(v.Tokens) != 1+len(c.renewals) || len(v.Reasons) == 0 {
				t.Fatalf("want a check per token and a reason: %+v", v)
			}
			if c.want && !v.Time.Equal(t0) {
				t.Fatalf("the file is proven at the first token's time %v, got %v", t0, v.Time)
			}
		})
	}
}

// TestRenewFileTokenRefusesForeignChain: renewing evidence that does not
// belong to the file is refused as invalid input.
func TestRenewFileTokenRefusesForeignChain(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	tok := stamp(t, s, attachment)
	renewal, err := s.RenewFileToken(context.Background(), bytes.NewReader(attachment), [][]byte{tok})
	if err != nil {
		t.Fatal(err)
	}
	tooMany := make([][]byte, archive.MaxTokens)
	for i := range tooMany {
		tooMany[i] = tok
	}
	for _, c := range []struct {
		name   string
		file   []byte
		tokens [][]byte
	}{
		{"no tokens", attachment, nil},
		{"empty token", attachment, [][]byte{{}}},
		{"garbage token", attachment, [][]byte{[]byte("junk")}},
		{"other file", []byte("other"), [][]byte{tok}},
		{"out of order", attachment, [][]byte{renewal, tok}},
		{"too many", attachment, tooMany},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.RenewFileToken(context.Background(), bytes.NewReader(c.file), c.tokens)
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("got %v, want kind Invalid", err)
			}
		})
	}
}

// TestFileErrors: failures to run are errors of the right kind, never
// verdicts.
func TestFileErrors(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, nil)
	tok := stamp(t, s, attachment)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	boom := errors.New("disk on fire")
	for _, c := range []struct {
		name string
		run  func() error
		want error
	}{
		{"StampFile cancelled", func() error { _, err := s.StampFile(cancelled, bytes.NewReader(attachment)); return err }, context.Canceled},
		{"StampFile read error", func() error { _, err := s.StampFile(context.Background(), iotest.ErrReader(boom)); return err }, boom},
		{"StampFile nil reader", func() error { _, err := s.StampFile(context.Background(), nil); return err }, kerr.Invalid},
		{"VerifyFile cancelled", func() error {
			_, err := s.VerifyFile(cancelled, bytes.NewReader(attachment), tok, nil)
			return err
		}, context.Canceled},
		{"VerifyFile read error", func() error {
			_, err := s.VerifyFile(context.Background(), io.MultiReader(strings.NewReader("x"), iotest.ErrReader(boom)), tok, nil)
			return err
		}, kerr.Unavailable},
		{"VerifyFile empty token", func() error {
			_, err := s.VerifyFile(context.Background(), bytes.NewReader(attachment), nil, nil)
			return err
		}, kerr.Invalid},
		{"VerifyFile too many renewals", func() error {
			_, err := s.VerifyFile(context.Background(), bytes.NewReader(attachment), tok, &archive.VerifyOptions{Renewals: make([][]byte, archive.MaxTokens)})
			return err
		}, kerr.Invalid},
		{"RenewFileToken cancelled", func() error {
			_, err := s.RenewFileToken(cancelled, bytes.NewReader(attachment), [][]byte{tok})
			return err
		}, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestFileTSARevocation: a TSA certificate revoked before it was needed
// breaks the evidence; revoked after a renewal covered its token, it does
// not. Missing data fails only under hard-fail.
func TestFileTSARevocation(t *testing.T) {
	p := testpki.New(t)
	day := 24 * time.Hour
	t0 := testpki.Now
	tok := stamp(t, newService(t, p, p.TSA, t0, nil), attachment)
	renewal, err := newService(t, p, p.TSA2, t0.Add(day), nil).RenewFileToken(context.Background(), bytes.NewReader(attachment), [][]byte{tok})
	if err != nil {
		t.Fatal(err)
	}
	// TSA's key is compromised on day 2; the CRL saying so is issued an
	// hour later and covers a week.
	p.SetNow(t0.Add(2*day + time.Hour))
	crl, err := p.CRL(p.Intermediate, []x509.RevocationListEntry{{SerialNumber: p.TSA.Cert.SerialNumber, RevocationTime: t0.Add(2 * day), ReasonCode: 1}})
	if err != nil {
		t.Fatal(err)
	}
	p.SetNow(t0)
	at := t0.Add(3 * day)
	offline := func(policy signature.RevocationPolicy, crls ...[]byte) func(*archive.Config) {
		return func(c *archive.Config) { c.Online, c.Revocation, c.CRLs = false, policy, crls }
	}
	for _, c := range []struct {
		name     string
		mutate   func(*archive.Config)
		at       time.Time
		renewals [][]byte
		want     bool
	}{
		{"revoked, not renewed", offline("", crl), at, nil, false},
		{"revoked after the renewal", offline("", crl), at, [][]byte{renewal}, true},
		{"revoked, revocation off", offline(signature.RevocationOff, crl), at, nil, true},
		{"no data, soft-fail", offline(""), at, nil, true},
		{"no data, hard-fail", offline(signature.RevocationHardFail), at, nil, false},
		{"online, hard-fail", func(c *archive.Config) { c.Revocation = signature.RevocationHardFail }, t0, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newService(t, p, p.TSA2, c.at, c.mutate)
			before := p.Requests("/ocsp")
			v := verifyFile(t, s, attachment, tok, &archive.VerifyOptions{Renewals: c.renewals})
			if v.Original != c.want {
				t.Fatalf("Original = %v, want %v: %q", v.Original, c.want, v.Reasons)
			}
			if online := p.Requests("/ocsp") > before; online != c.at.Equal(t0) {
				t.Fatalf("asked the OCSP responder: %v; only the online case may", online)
			}
		})
	}
}

// TestConcurrentUse: one Service stamps and verifies from many goroutines
// (run with -race); every token is distinct and proves its own file.
func TestConcurrentUse(t *testing.T) {
	p := testpki.New(t)
	s := newService(t, p, p.TSA, testpki.Now, func(c *archive.Config) { c.Online = false })
	const n = 8
	errs := make(chan error, n)
	serials := make(chan string, n)
	for i := range n {
		go func() {
			file := []byte(strings.Repeat("ファイル", i+1))
			tok, err := s.StampFile(context.Background(), bytes.NewReader(file))
			if err != nil {
				errs <- err
				return
			}
			v, err := s.VerifyFile(context.Background(), bytes.NewReader(file), tok, nil)
			if err == nil && !v.Original {
				err = errors.New(strings.Join(v.Reasons, "; "))
			}
			if parsed, perr := timestamp.Parse(tok); perr == nil {
				serials <- parsed.Serial.String()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(serials)
	seen := map[string]bool{}
	for sn := range serials {
		if seen[sn] {
			t.Fatalf("serial %s issued twice", sn)
		}
		seen[sn] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct tokens, want %d", len(seen), n)
	}
}
