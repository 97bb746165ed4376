package archive

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/failpoint"
	"github.com/keiyaku/keiyaku/internal/revocation"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// Limits of file evidence.
const (
	// MaxTokens is the longest file token chain (the first token and its
	// renewals) RenewFileToken and VerifyFile accept. Renewing every five
	// years, it lasts centuries.
	MaxTokens = 64
	// MaxTokenSize is the largest DER token accepted, as for a TSA
	// response (timestamp.MaxResponseSize).
	MaxTokenSize = timestamp.MaxResponseSize
)

// Config configures a Service.
type Config struct {
	// Timestamper issues every timestamp the Service makes (document
	// timestamps, file tokens, renewals); required. Use
	// signature.AuthorityTimestamper for the local timestamp.Authority or a
	// *timestamp.Client for a remote TSA. To renew with a new TSA, make a
	// Service with the new Timestamper.
	Timestamper signature.Timestamper
	// TrustAnchors are the roots every signer and TSA chain must end in
	// when verifying. nil means none: every verification then reports that
	// the file is not original (no chain to a trusted root).
	TrustAnchors []*x509.Certificate
	// Certs are extra certificates (intermediates) for building chains,
	// both when adding validation data and when verifying; nil means none.
	Certs []*x509.Certificate
	// OCSPs and CRLs are DER OCSP responses and CRLs to embed when sealing
	// and renewing, preferred to online data; nil means none.
	OCSPs, CRLs [][]byte
	// Online lets sealing, renewal and verification fetch issuer
	// certificates, OCSP responses and CRLs from the URLs in certificates.
	// false means only the data supplied here and embedded in the files.
	Online bool
	// HTTPClient makes the online requests; nil means a client with a
	// 10 s timeout.
	HTTPClient *http.Client
	// AllowIncomplete seals even when a chain or revocation data is
	// missing for some certificate (signature.ExtendOptions); false means
	// SealPDF and RenewPDF fail instead, with kind FailedPrecondition.
	AllowIncomplete bool
	// Revocation is the revocation policy of VerifyPDF and of the TSA
	// certificates VerifyFile checks; zero means
	// signature.RevocationSoftFail (a revoked certificate fails, missing
	// data does not).
	Revocation signature.RevocationPolicy
	// Clock is the Service's notion of now: revocation data must be current
	// at it, verification runs at it unless told otherwise, renewal
	// horizons count from it. nil means time.Now.
	Clock func() time.Time
	// TempDir holds SealPDF's and RenewPDF's intermediate file, removed
	// before they return; empty means os.TempDir().
	TempDir string
	// MemoryLimit is the input size up to which SealPDF and RenewPDF keep
	// the intermediate file in memory instead of TempDir (about the size
	// of the input plus its validation data); 0 means 4 MiB, negative
	// means always TempDir.
	MemoryLimit int64
	// Logger receives one line per seal and renewal; nil means
	// slog.Default().
	Logger *slog.Logger
	// Stamper issues the timestamps of evidence records for hash
	// algorithms other than SHA-256 (hash-tree renewal, RFC 4998 §5.3),
	// and for SHA-256 too when set; nil means Config.Timestamper, SHA-256
	// only. AuthorityStamper adapts a local timestamp.Authority.
	Stamper ers.Stamper
	// BatchWindow is how long SealFile waits for more files before it
	// asks for the batch's timestamp; 0 means no wait: a batch is what
	// arrived while the previous batch's timestamp was being made (group
	// commit), so a lone file is sealed at once. Negative is invalid.
	BatchWindow time.Duration
	// BatchMax is the most files one timestamp seals; 0 means
	// DefaultBatchMax.
	BatchMax int
}

// Service seals, stamps, verifies and renews. It is safe for concurrent
// use when its Timestamper is.
type Service struct {
	cfg   Config
	clock func() time.Time
	log   *slog.Logger
	rev   *revocation.Client // nil unless Config.Online
	batch batcher
	paths sync.Map // TSA certificate DER -> pathWindow (PDFRenewalDue)
}

// New checks cfg and returns a Service. Errors have kind kerr.Invalid and
// name the field at fault.
func New(cfg Config) (*Service, error) {
	const op = "archive.New"
	if cfg.Timestamper == nil {
		return nil, kerr.E(kerr.Invalid, op, "Config.Timestamper is required (signature.AuthorityTimestamper or a *timestamp.Client)")
	}
	for i, c := range cfg.TrustAnchors {
		if c == nil {
			return nil, kerr.E(kerr.Invalid, op, "Config.TrustAnchors[%d] is nil", i)
		}
	}
	for i, c := range cfg.Certs {
		if c == nil {
			return nil, kerr.E(kerr.Invalid, op, "Config.Certs[%d] is nil", i)
		}
	}
	if _, err := signature.ParseRevocationPolicy(string(cfg.Revocation)); err != nil {
		return nil, kerr.E(kerr.Invalid, op, "Config.Revocation: %v", err)
	}
	if cfg.BatchWindow < 0 || cfg.BatchMax < 0 || cfg.BatchMax > ers.MaxLeaves {
		return nil, kerr.E(kerr.Invalid, op, "Config.BatchWindow must not be negative and Config.BatchMax must be 0..%d", ers.MaxLeaves)
	}
	if cfg.TempDir != "" {
		fi, err := os.Stat(cfg.TempDir)
		if err != nil || !fi.IsDir() {
			return nil, kerr.E(kerr.Invalid, op, "Config.TempDir %q is not a directory", cfg.TempDir)
		}
	}
	cfg.TrustAnchors = append([]*x509.Certificate(nil), cfg.TrustAnchors...)
	cfg.Certs = append([]*x509.Certificate(nil), cfg.Certs...)
	s := &Service{cfg: cfg, clock: cfg.Clock, log: cfg.Logger}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Online {
		rc, err := revocation.New(revocation.Config{HTTPClient: cfg.HTTPClient})
		if err != nil {
			return nil, kerr.WrapKind(kerr.Invalid, op, "revocation client", err)
		}
		s.rev = rc
	}
	return s, nil
}

func (s *Service) extendOptions() *signature.ExtendOptions {
	return &signature.ExtendOptions{
		// The anchors end the chains: with them at hand no AIA fetch is
		// needed for the root.
		Certs:           append(append([]*x509.Certificate{}, s.cfg.Certs...), s.cfg.TrustAnchors...),
		OCSPs:           s.cfg.OCSPs,
		CRLs:            s.cfg.CRLs,
		Online:          s.cfg.Online,
		HTTPClient:      s.cfg.HTTPClient,
		Clock:           s.clock,
		AllowIncomplete: s.cfg.AllowIncomplete,
		Timestamper:     s.cfg.Timestamper,
	}
}

// SealPDF writes to w the sealed form of the signed PDF of size bytes read
// from r: the same bytes followed by one incremental update adding the DSS
// with certificates and OCSP responses or CRLs for every signature and
// timestamp (ETSI EN 319 142-1 §5.4.2) and one adding a document timestamp
// over the whole file (§5.4.3), i.e. PAdES B-LTA (§6.5).
//
// The PDF is streamed: the DSS step goes to a temporary file in
// Config.TempDir, removed before SealPDF returns, which the timestamp step
// reads back; a PDF within Config.MemoryLimit goes through memory instead.
// On error w may have received part of the output and must be discarded.
// Errors: kerr.Invalid (wrapping signature.ErrUnsupportedDocument) for a
// file without signatures or that cannot be updated;
// kerr.FailedPrecondition (wrapping signature.ErrMissingValidationData) when
// a chain or revocation data is missing; kerr.Unavailable when the TSA
// refuses or fails or ctx is done.
func (s *Service) SealPDF(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) error {
	if err := s.extend(ctx, "archive.SealPDF", r, size, w); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "archive: sealed PDF", "size", size)
	return nil
}

// RenewPDF renews a sealed PDF's evidence (ETSI EN 319 142-1 §5.5, ETSI
// TS 119 512 preservation): it adds the validation data for the newest
// document timestamp (and every other signature and timestamp, keeping what
// the DSS already holds) and then a new document timestamp from
// Config.Timestamper over the whole file. Do it before the previous TSA's
// certificate expires, with a TSA whose certificate lives longer; the new
// timestamp then proves that the old one existed while it could still be
// validated. Streaming, output and errors as for SealPDF; renewing an
// unsealed signed PDF seals it.
func (s *Service) RenewPDF(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) error {
	if err := s.extend(ctx, "archive.RenewPDF", r, size, w); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "archive: renewed PDF", "size", size)
	return nil
}

// extend is AddValidationData into a temporary file (or memory), then
// AddDocumentTimestamp from it into w.
func (s *Service) extend(ctx context.Context, op string, r io.ReaderAt, size int64, w io.Writer) (err error) {
	if r == nil || w == nil || size <= 0 {
		return kerr.E(kerr.Invalid, op, "need a reader, a writer and a positive size (got size %d)", size)
	}
	if err := ctx.Err(); err != nil {
		return kerr.Wrap(op, err)
	}
	opts := s.extendOptions()
	// The file between the two steps: in memory for a contract of usual
	// size, else in a temporary file.
	var buf bytes.Buffer
	var mid io.Writer = &buf
	var tmp *os.File
	var bw *bufio.Writer
	if limit := s.cfg.MemoryLimit; size <= limit || limit == 0 && size <= defaultMemoryLimit {
		buf.Grow(int(size) + 64<<10) // the DSS adds certificates and OCSP responses
	} else {
		if tmp, err = os.CreateTemp(s.cfg.TempDir, "keiyaku-archive-*.pdf"); err != nil {
			return kerr.WrapKind(kerr.Unavailable, op, "cannot create the temporary file", err)
		}
		defer func() {
			cerr := tmp.Close()
			rerr := os.Remove(tmp.Name())
			if err == nil && (cerr != nil || rerr != nil) {
				err = kerr.WrapKind(kerr.Internal, op, "removing the temporary file", errors.Join(cerr, rerr))
			}
		}()
		bw = bufio.NewWriterSize(tmp, 64<<10)
		mid = bw
	}
	cw := &countWriter{w: mid}
	if err := signature.AddValidationData(ctx, r, size, cw, opts); err != nil {
		return s.extendError(op, "adding validation data", err)
	}
	var ra io.ReaderAt = bytes.NewReader(buf.Bytes())
	if tmp != nil {
		if err := bw.Flush(); err != nil {
			return kerr.WrapKind(kerr.Unavailable, op, "writing the temporary file", err)
		}
		ra = tmp
	}
	if err := ctx.Err(); err != nil {
		return kerr.Wrap(op, err)
	}
	if err := signature.AddDocumentTimestamp(ctx, ra, cw.n, w, opts); err != nil {
		return s.extendError(op, "adding the document timestamp", err)
	}
	return nil
}

// defaultMemoryLimit is Config.MemoryLimit's default.
const defaultMemoryLimit = 4 << 20

func (s *Service) extendError(op, step string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return kerr.Wrap(op, err)
	case errors.Is(err, signature.ErrMissingValidationData):
		return kerr.WrapKind(kerr.FailedPrecondition, op, step+": supply Config.Certs/OCSPs/CRLs, enable Config.Online or set Config.AllowIncomplete", err)
	case errors.Is(err, signature.ErrUnsupportedDocument):
		return kerr.WrapKind(kerr.Invalid, op, step+": the file is not a signed PDF this package can extend", err)
	case errors.Is(err, timestamp.ErrRejected), errors.Is(err, timestamp.ErrMalformed), errors.Is(err, timestamp.ErrMismatch):
		return kerr.WrapKind(kerr.Unavailable, op, step+": the timestamping authority failed", err)
	}
	return kerr.WrapKind(kerr.Unavailable, op, step, err)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// StampFile returns a DER TimeStampToken (RFC 3161 §2.4.2) from
// Config.Timestamper whose message imprint is the SHA-256 of the bytes read
// from r, streamed. Keep the token beside the file; VerifyFile checks them
// together. Errors: kerr.Unavailable when reading r, the TSA or ctx fails.
func (s *Service) StampFile(ctx context.Context, r io.Reader) ([]byte, error) {
	const op = "archive.StampFile"
	if r == nil {
		return nil, kerr.E(kerr.Invalid, op, "nil reader")
	}
	h := sha256.New()
	if err := hashStream(ctx, h, r); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "reading the file", err)
	}
	tok, err := s.stamp(ctx, h.Sum(nil))
	if err != nil {
		return nil, s.extendError(op, "timestamping", err)
	}
	return tok, nil
}

// stamp asks the Timestamper for a token over digest and checks that it
// answers the question.
func (s *Service) stamp(ctx context.Context, digest []byte) ([]byte, error) {
	failpoint.Hit(failpoint.SealStamping)
	tok, err := s.cfg.Timestamper.Timestamp(ctx, digest)
	if err != nil {
		return nil, err
	}
	failpoint.Hit(failpoint.SealStamped)
	if tok == nil || tok.Hash != crypto.SHA256 || string(tok.HashedMessage) != string(digest) {
		return nil, fmt.Errorf("%w: the token does not stamp the SHA-256 asked for", timestamp.ErrMismatch)
	}
	if len(tok.Raw) == 0 || len(tok.Raw) > MaxTokenSize {
		return nil, fmt.Errorf("%w: token of %d bytes", timestamp.ErrMalformed, len(tok.Raw))
	}
	return append([]byte(nil), tok.Raw...), nil
}

// RenewFileToken returns a new token from Config.Timestamper that extends
// the chain tokens (oldest first: the file's first token, then earlier
// renewals). Its imprint is
//
//	SHA-256(file ‖ DER(tokens[0]) ‖ … ‖ DER(tokens[n-1]))
//
// with the file's bytes read from file. Append it to the chain and keep
// the whole chain; VerifyFile checks it. Before stamping, RenewFileToken
// checks that the chain belongs to the file (every imprint matches its
// prefix of the chain): renewing someone else's evidence would prove
// nothing. Errors: kerr.Invalid for an empty, too long or mismatched chain;
// kerr.Unavailable when reading, the TSA or ctx fails.
func (s *Service) RenewFileToken(ctx context.Context, file io.Reader, tokens [][]byte) ([]byte, error) {
	const op = "archive.RenewFileToken"
	if file == nil {
		return nil, kerr.E(kerr.Invalid, op, "nil file reader")
	}
	if err := checkChainShape(tokens, MaxTokens-1); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "", err)
	}
	h := sha256.New()
	if err := hashStream(ctx, h, file); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "reading the file", err)
	}
	for i, der := range tokens {
		tok, err := timestamp.Parse(der)
		if err != nil {
			return nil, kerr.WrapKind(kerr.Invalid, op, fmt.Sprintf("token %d does not parse", i), err)
		}
		if tok.Hash != crypto.SHA256 || string(tok.HashedMessage) != string(h.Sum(nil)) {
			return nil, kerr.E(kerr.Invalid, op, "token %d does not stamp this file and the tokens before it: wrong file or chain order", i)
		}
		h.Write(der)
	}
	tok, err := s.stamp(ctx, h.Sum(nil))
	if err != nil {
		return nil, s.extendError(op, "timestamping", err)
	}
	s.log.InfoContext(ctx, "archive: renewed file evidence", "tokens", len(tokens)+1)
	return tok, nil
}

func checkChainShape(tokens [][]byte, max int) error {
	if len(tokens) == 0 {
		return errors.New("no token given: stamp the file with StampFile first")
	}
	if len(tokens) > max {
		return fmt.Errorf("%d tokens, at most %d", len(tokens), max)
	}
	for i, t := range tokens {
		if len(t) == 0 || len(t) > MaxTokenSize {
			return fmt.Errorf("token %d is %d bytes; want 1..%d", i, len(t), MaxTokenSize)
		}
	}
	return nil
}

// hashStream copies r into h, checking ctx between reads.
func hashStream(ctx context.Context, h hash.Hash, r io.Reader) error {
	buf := make([]byte, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
