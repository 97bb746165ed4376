package keiyaku

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/bulkverify"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/jobs"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/renewal"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/outbox"
	"github.com/keiyaku/keiyaku/storage/sqlite"
	"github.com/keiyaku/keiyaku/timestamp"
	"github.com/keiyaku/keiyaku/webhook"
)

// DevelopmentPolicy is the TSA policy OID (RFC 3161 §2.4.2) of the local
// timestamping authority when TSAConfig.Policy is nil. It sits under the
// enterprise number reserved for documentation (RFC 5612) and so names no
// real policy.
var DevelopmentPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 2, 1}

// Config configures Open. Its zero value, with Dir set, is the embedded
// default; each field says what its zero value means.
type Config struct {
	// Dir is the data directory of the embedded default (see the package
	// comment for its layout); it is created if missing. Required unless
	// Store, Blobs and a TSA without local state (TSAConfig.URL or
	// TSAConfig.Timestamper) are all given; then an empty Dir means
	// sealing uses os.TempDir. With the embedded SQLite store Dir may not
	// contain '?' or '#'. One Dir belongs to one open Service at a time.
	Dir string

	// Store persists cases, accounts, the audit log and the outbox. nil
	// means SQLite at Dir/keiyaku.db. A Store given here is not closed by
	// Service.Close.
	Store storage.Store
	// AuditKey keys the audit chain of the embedded SQLite store (see
	// storage.AuditKey; keep it outside the data directory, e.g. in a
	// secret manager). nil means plain SHA-256, which anyone who can write
	// the database can recompute. A Store given above seals with the key
	// it was opened with.
	AuditKey *storage.AuditKey
	// OldAuditKeys are keys rotated out, still needed to verify the
	// entries sealed with them (Cases.VerifyAudit).
	OldAuditKeys []storage.AuditKey
	// LoginKey keys the hashes under which login throttles are stored
	// (account.Config.Key); nil means a random key per Open, so that
	// throttles start afresh when the service restarts.
	LoginKey []byte
	// Blobs stores document bytes. nil means files under Dir/blobs. Blobs
	// given here are not closed by Service.Close.
	Blobs *storage.Blobs
	// OrphanGrace is how old a blob that no row names must be before the
	// orphan collection RunJobs schedules removes it (see
	// storage.Blobs.CollectOrphans, which also says why the grace keeps
	// uploads not yet committed safe). Zero means
	// storage.DefaultOrphanGrace (24 h); less than
	// storage.MinOrphanGrace (1 h) is refused.
	OrphanGrace time.Duration

	// Validator checks every uploaded PDF. nil means the signature package
	// with TrustAnchors, Intermediates and Revocation (see NewValidator).
	Validator casework.Validator
	// Sealer seals completed cases. nil means Service.Archive.
	Sealer casework.Sealer

	// TrustAnchors are the roots every signer chain must end in. nil means
	// none: then no signature passes and every registration is refused.
	// Uploads are validated against these alone. Archive (sealing and
	// original verification) trusts the roots of the TSA as well
	// (TSAConfig.TrustAnchors, or the development TSA certificate): the
	// signature package has one set of anchors for signers and TSAs, so
	// a CA root given as TSAConfig.TrustAnchors is trusted there for its
	// signers too.
	TrustAnchors []*x509.Certificate
	// Intermediates are extra certificates for building paths, beside
	// those embedded in the signatures; nil means none.
	Intermediates []*x509.Certificate
	// Revocation is the revocation policy of validation; zero means
	// signature.RevocationSoftFail.
	Revocation signature.RevocationPolicy
	// Online lets validation and sealing fetch issuer certificates, OCSP
	// responses and CRLs from the URLs in certificates. false means only
	// OCSPs, CRLs and what the documents embed.
	Online bool
	// OCSPs and CRLs are DER OCSP responses and CRLs to embed when sealing
	// (preferred to online data). Sealing to B-LTA needs revocation data
	// for every signer certificate (ETSI EN 319 142-1 §6.3): give it here,
	// or set Online. nil means none.
	OCSPs, CRLs [][]byte
	// AllowIncompleteSeal seals even when revocation data is missing for
	// some certificate; the result is then B-T with a document timestamp,
	// not B-LTA. false means completion fails with kerr.FailedPrecondition
	// instead, and the case stays returned.
	AllowIncompleteSeal bool

	// TSA says where timestamps come from; the zero value means the
	// development TSA under Dir/tsa. To change TSA over the years, open
	// the Service with the new TSAConfig (and the old TSA's root still
	// among the trust anchors): every token names the TSA that made it.
	TSA TSAConfig
	// Renewal is the policy of the renewal pass (Service.Renewal); the
	// zero value means renewal a year before a TSA certificate expires
	// and no algorithm declared weak.
	Renewal RenewalPolicy

	// SMTP is the submission server notices are mailed through. The zero
	// value (no Host) means no mail is sent; notices are still written to
	// the outbox and wait there. Ignored when Mailer is set.
	SMTP notify.SMTPConfig
	// Mailer, when not nil, delivers notices instead of SMTP.
	Mailer notify.Mailer
	// Templates render notices; nil means notify.DefaultTemplates().
	Templates *notify.Templates
	// CaseURL returns the portal link of a case for notices (an absolute
	// http(s) URL); nil means notices carry no link.
	CaseURL func(caseID string) string
	// NotifyInterval is how long RunNotifier waits when nothing is due;
	// zero means 30 seconds.
	NotifyInterval time.Duration
	// Webhook configures the companies' webhooks (package webhook): the
	// key sealing their secrets, which addresses deliveries may reach,
	// retries. Its Store, Clock and Logger are the service's. The zero
	// value stores secrets unsealed, delivers over https to public
	// addresses only, with the package's default retries.
	Webhook webhook.Config

	// PasswordParams, MaxFailedLogins, Lockout and SessionTTL configure
	// accounts; zero values mean account.Config's defaults (argon2id
	// DefaultParams, 5 failures, 15 minutes, 8 hours).
	PasswordParams  account.Params
	MaxFailedLogins int
	Lockout         time.Duration
	SessionTTL      time.Duration

	// RetentionNotice is how long before the retention sweep deletes a
	// completed case its owner is told (casework.Config.RetentionNotice);
	// zero means casework.DefaultRetentionNotice (30 days).
	RetentionNotice time.Duration

	// Clock is the service's notion of now for every part (case times,
	// validation, sealing, the local TSA, sessions, the notice worker);
	// nil means time.Now.
	Clock func() time.Time
	// Logger receives the parts' log lines; nil discards them.
	Logger *slog.Logger
}

// TSAConfig says which RFC 3161 timestamping authority seals cases. At most
// one of URL, Timestamper and Signer may be set; none means the
// development TSA.
type TSAConfig struct {
	// URL is a remote TSA (RFC 3161 §3.4 over HTTP), asked through a
	// timestamp.Client with SHA-256 imprints.
	URL string
	// HTTPClient sends requests to URL; nil means http.DefaultClient with
	// the client's 30 second timeout.
	HTTPClient *http.Client
	// Timestamper is any other source of tokens.
	Timestamper signature.Timestamper
	// Signer and Certificate run a local timestamp.Authority with a real
	// TSA certificate (critical, sole id-kp-timeStamping, RFC 3161 §2.3);
	// Chain holds its intermediates. Serial numbers persist in
	// Dir/tsa/serial on the embedded default; with a Config.Store given
	// (a database several processes may share, each running this TSA
	// from the same key) they are random (timestamp.RandomSerialStore),
	// unique across processes without a shared counter.
	Signer      crypto.Signer
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	// Policy is the TSA policy OID: requested from URL (nil: any), or
	// written by the local authority (nil: DevelopmentPolicy).
	Policy asn1.ObjectIdentifier
	// TrustAnchors are the roots of the TSA's certificate chain, trusted
	// when verifying timestamps. The development TSA's certificate is
	// trusted without being listed.
	TrustAnchors []*x509.Certificate
}

// Service is an open contract service. Its exported parts may be used
// directly; they are safe for concurrent use.
type Service struct {
	// Cases carries contract cases through their lifecycle.
	Cases *casework.Service
	// Accounts manages companies, users and sessions; its Principals are
	// what Cases acts as.
	Accounts *account.Service
	// Archive seals, verifies and renews originals with the configured
	// TSA and trust anchors.
	Archive *archive.Service
	// Bulk runs bulk verification (一括検証) of a period's completed
	// cases with Archive.
	Bulk *bulkverify.Verifier
	// Webhooks manages the companies' webhook subscriptions and delivers
	// them; RunNotifier runs its delivery loop.
	Webhooks *webhook.Service
	// Renewal renews the evidence records of completed cases a year
	// before their TSA certificate expires (renewal.DefaultMargin), with
	// Archive's TSA; RunJobs runs it on a schedule.
	Renewal *renewal.Renewer
	// Store and Blobs are the persistence the service runs on.
	Store storage.Store
	Blobs *storage.Blobs
	// TSACertificate is the certificate of the local TSA (development or
	// configured); nil with a remote TSA or a Config.TSA.Timestamper.
	TSACertificate *x509.Certificate

	worker  *notify.Worker
	closers []func() error
	jobs    jobs.Config // the database RunJobs uses; zero when none
	clock   func() time.Time
	grace   time.Duration // Config.OrphanGrace, defaulted
	logger  *slog.Logger
}

// Open builds a Service from cfg: it opens (creating if needed) what cfg
// leaves to the embedded default, then wires the parts together. The
// caller must Close the Service.
//
// Errors: kerr.Invalid for a Config that is inconsistent or lacks a
// required field (the message names it); kerr.Unavailable when the data
// directory, database or blob bucket cannot be opened; kerr.Internal when
// the development TSA credentials in Dir/tsa cannot be read or made.
func Open(ctx context.Context, cfg Config) (_ *Service, err error) {
	const op = "keiyaku.Open"
	if err := checkConfig(op, &cfg); err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, op, "cannot create the data directory "+cfg.Dir, err)
		}
	}

	s.logger = logger
	s.clock, s.grace = clock, cfg.OrphanGrace
	if s.grace == 0 {
		s.grace = storage.DefaultOrphanGrace
	}
	s.Store = cfg.Store
	if s.Store == nil {
		st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(cfg.Dir, "keiyaku.db"), AuditKey: cfg.AuditKey})
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		s.Store = st
		s.closers = append(s.closers, st.Close)
		s.jobs.SQLitePath = filepath.Join(cfg.Dir, "keiyaku.db")
	} else if pg, ok := cfg.Store.(interface{ Pool() *pgxpool.Pool }); ok {
		s.jobs.Postgres = pg.Pool()
	}
	s.Blobs = cfg.Blobs
	if s.Blobs == nil {
		b, err := openFileBlobs(ctx, filepath.Join(cfg.Dir, "blobs"))
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		s.Blobs = b
		s.closers = append(s.closers, b.Close)
	}

	ts, tsaCert, err := openTSA(ctx, op, &cfg, clock, logger)
	if err != nil {
		return nil, err
	}
	s.TSACertificate = tsaCert
	anchors := append([]*x509.Certificate(nil), cfg.TrustAnchors...)
	anchors = append(anchors, cfg.TSA.TrustAnchors...)
	if tsaCert != nil && isSelfSigned(tsaCert) {
		anchors = append(anchors, tsaCert)
	}
	intermediates := append([]*x509.Certificate(nil), cfg.Intermediates...)
	intermediates = append(intermediates, cfg.TSA.Chain...)

	tempDir := ""
	if cfg.Dir != "" {
		tempDir = filepath.Join(cfg.Dir, "tmp")
		if err := os.MkdirAll(tempDir, 0o700); err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, op, "cannot create "+tempDir, err)
		}
	}
	s.Archive, err = archive.New(archive.Config{
		Timestamper: ts, Stamper: tsaStamper(ts), TrustAnchors: anchors, Certs: intermediates,
		OCSPs: cfg.OCSPs, CRLs: cfg.CRLs, Online: cfg.Online, AllowIncomplete: cfg.AllowIncompleteSeal,
		Revocation: cfg.Revocation, Clock: clock, TempDir: tempDir, Logger: logger,
	})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}

	val := cfg.Validator
	if val == nil {
		val = NewValidator(&signature.ValidateOptions{
			TrustAnchors: cfg.TrustAnchors, Intermediates: cfg.Intermediates, Revocation: cfg.Revocation, Online: cfg.Online,
		})
	}
	sealer := cfg.Sealer
	if sealer == nil {
		sealer = &archiveSealer{Service: s.Archive, ts: ts, clock: clock}
	}
	whc := cfg.Webhook
	whc.Store, whc.Clock, whc.Logger = s.Store, clock, logger
	if s.Webhooks, err = webhook.New(whc); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	// Every blob written is pinned first, so that the retention sweep
	// never removes a blob a writer is about to name (storage.PinTTL).
	s.Blobs.SetPin(func(ctx context.Context, key string) error { return s.Store.PinBlob(ctx, key, clock()) })
	s.Cases, err = casework.New(casework.Config{
		Store: s.Store, Blobs: s.Blobs, Validator: val, Sealer: sealer, Clock: clock, Logger: logger, TempDir: tempDir,
		AuditKeys: auditKeys(&cfg), Webhooks: s.Webhooks, Stamper: s.Archive, RetentionNotice: cfg.RetentionNotice,
	})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	s.Bulk, err = bulkverify.New(bulkverify.Config{Cases: s.Cases, Blobs: s.Blobs, Archive: s.Archive, Clock: clock})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	s.Renewal, err = renewal.New(renewal.Config{Cases: s.Cases, Blobs: s.Blobs, Archive: s.Archive, Logger: logger,
		Margin: cfg.Renewal.Margin, Weak: cfg.Renewal.Weak, Strong: cfg.Renewal.Strong})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	s.Accounts, err = account.New(account.Config{
		Store: s.Store, Clock: clock, Params: cfg.PasswordParams, MaxFailures: cfg.MaxFailedLogins,
		Lockout: cfg.Lockout, SessionTTL: cfg.SessionTTL, Key: cfg.LoginKey,
		Disclosures: s.Cases,
	})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}

	mailer := cfg.Mailer
	if mailer == nil && cfg.SMTP.Host != "" {
		m, err := notify.NewSMTPMailer(cfg.SMTP)
		if err != nil {
			return nil, kerr.WrapKind(kerr.Invalid, op, "Config.SMTP", err)
		}
		mailer = m
	}
	if mailer != nil {
		ob, err := outbox.New(outbox.Config{Store: s.Store, CaseURL: cfg.CaseURL})
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		s.worker, err = notify.NewWorker(notify.WorkerConfig{
			Outbox: ob, Mailer: mailer, Templates: cfg.Templates, Clock: clock,
			Interval: cfg.NotifyInterval, Logger: logger,
		})
		if err != nil {
			return nil, kerr.WrapKind(kerr.Invalid, op, "notice worker", err)
		}
	}
	return s, nil
}

func checkConfig(op string, cfg *Config) error {
	t := cfg.TSA
	set := 0
	for _, b := range []bool{t.URL != "", t.Timestamper != nil, t.Signer != nil || t.Certificate != nil} {
		if b {
			set++
		}
	}
	switch {
	case set > 1:
		return kerr.E(kerr.Invalid, op, "Config.TSA: set at most one of URL, Timestamper and Signer/Certificate")
	case (t.Signer == nil) != (t.Certificate == nil):
		return kerr.E(kerr.Invalid, op, "Config.TSA: Signer and Certificate go together")
	case t.URL != "":
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return kerr.E(kerr.Invalid, op, "Config.TSA.URL %q is not an absolute http(s) URL", t.URL)
		}
	}
	needDir := cfg.Store == nil || cfg.Blobs == nil || set == 0 || t.Signer != nil
	if needDir && cfg.Dir == "" {
		return kerr.E(kerr.Invalid, op, "Config.Dir is required: it holds the embedded database, blobs and TSA files unless Store, Blobs and a remote TSA are all given")
	}
	if cfg.Store == nil && strings.ContainsAny(cfg.Dir, "?#") {
		return kerr.E(kerr.Invalid, op, "Config.Dir %q may not contain '?' or '#' (the SQLite file name cannot)", cfg.Dir)
	}
	for i, c := range append(append(append([]*x509.Certificate(nil), cfg.TrustAnchors...), cfg.Intermediates...), t.TrustAnchors...) {
		if c == nil {
			return kerr.E(kerr.Invalid, op, "Config: certificate %d of TrustAnchors, Intermediates and TSA.TrustAnchors is nil", i)
		}
	}
	if _, err := signature.ParseRevocationPolicy(string(cfg.Revocation)); err != nil {
		return kerr.WrapKind(kerr.Invalid, op, "Config.Revocation", err)
	}
	if cfg.RetentionNotice < 0 {
		return kerr.E(kerr.Invalid, op, "Config.RetentionNotice may not be negative")
	}
	if cfg.NotifyInterval < 0 {
		return kerr.E(kerr.Invalid, op, "Config.NotifyInterval may not be negative")
	}
	if cfg.OrphanGrace != 0 && cfg.OrphanGrace < storage.MinOrphanGrace {
		return kerr.E(kerr.Invalid, op, "Config.OrphanGrace %v is less than storage.MinOrphanGrace (%v)", cfg.OrphanGrace, storage.MinOrphanGrace)
	}
	return nil
}

// openFileBlobs opens (creating) the fileblob bucket in dir.
func openFileBlobs(ctx context.Context, dir string) (*storage.Blobs, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, "keiyaku.openFileBlobs", "blob directory "+dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, "keiyaku.openFileBlobs", "cannot create "+abs, err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "metadata=skip&no_tmp_dir=true"}
	return storage.OpenBlobs(ctx, u.String())
}

// openTSA returns the timestamper cfg.TSA asks for and, for a local
// authority, its certificate.
func openTSA(ctx context.Context, op string, cfg *Config, clock func() time.Time, logger *slog.Logger) (signature.Timestamper, *x509.Certificate, error) {
	t := cfg.TSA
	switch {
	case t.Timestamper != nil:
		return t.Timestamper, nil, nil
	case t.URL != "":
		return &timestamp.Client{URL: t.URL, HTTPClient: t.HTTPClient, Policy: t.Policy}, nil, nil
	}
	dir := filepath.Join(cfg.Dir, "tsa")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, kerr.WrapKind(kerr.Unavailable, op, "cannot create "+dir, err)
	}
	signer, cert, chain := t.Signer, t.Certificate, t.Chain
	if signer == nil {
		var err error
		if signer, cert, err = devTSA(dir, clock()); err != nil {
			return nil, nil, kerr.WrapKind(kerr.Internal, op, "development TSA in "+dir, err)
		}
	}
	var serials timestamp.SerialStore = timestamp.RandomSerialStore{}
	if cfg.Store == nil {
		fs, err := timestamp.NewFileSerialStore(filepath.Join(dir, "serial"))
		if err != nil {
			return nil, nil, kerr.WrapKind(kerr.Internal, op, "TSA serial file", err)
		}
		serials = fs
	}
	policy := t.Policy
	if policy == nil {
		policy = DevelopmentPolicy
	}
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: signer, Certificate: cert, Chain: chain, Policy: policy,
		Accuracy: time.Second, Clock: clock, Serials: serials, Logger: logger,
	})
	if err != nil {
		return nil, nil, kerr.WrapKind(kerr.Invalid, op, "Config.TSA", err)
	}
	return authorityTSA{signature.AuthorityTimestamper(a), archive.AuthorityStamper(a)}, cert, nil
}

// archiveSealer is the default casework.Sealer: the archive, and for a
// PDF with no signature at all - a FormSendOnly contract may be sent
// unsigned - a document timestamp alone (ISO 32000-2 §12.8.5), since there
// is no signature to raise to PAdES B-LTA and archive.SealPDF refuses such
// a file. The timestamp still proves the sent bytes existed at completion;
// original verification reports such a file as not original (unsigned).
type archiveSealer struct {
	*archive.Service
	ts    signature.Timestamper
	clock func() time.Time
}

var (
	_ casework.Sealer      = (*archiveSealer)(nil)
	_ casework.SealChecker = (*archiveSealer)(nil)
)

// sealHint names the Config fields that supply what sealing lacks.
const sealHint = "give revocation data for the signers' certificates in keiyaku.Config.OCSPs or Config.CRLs (their CAs in Config.Intermediates), set Config.Online to fetch it, or set Config.AllowIncompleteSeal to seal without it (B-T, not B-LTA)"

// CheckSeal implements casework.SealChecker with archive.Service.CheckSeal;
// casework's refusal (message code seal.preflight) names the Config
// fields that supply what is missing.
func (s *archiveSealer) CheckSeal(ctx context.Context, r io.ReaderAt, size int64) ([]string, error) {
	return s.Service.CheckSeal(ctx, r, size)
}

// SealPDF implements casework.Sealer.
func (s *archiveSealer) SealPDF(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) error {
	cw := &countingWriter{w: w}
	err := s.Service.SealPDF(ctx, r, size, cw)
	if errors.Is(err, signature.ErrMissingValidationData) {
		// Say once what is missing (the signature package's list) and
		// which of this package's Config fields supply it, without the
		// archive's own field names in between.
		e := err
		for next := errors.Unwrap(e); next != nil && next != signature.ErrMissingValidationData; next = errors.Unwrap(e) {
			e = next
		}
		return kerr.E(kerr.FailedPrecondition, "keiyaku.SealPDF", "%w; %s", e, sealHint)
	}
	if err == nil || cw.n > 0 || !errors.Is(err, signature.ErrUnsupportedDocument) {
		return err
	}
	if sigs, verr := countSignatures(ctx, r, size, s.clock()); verr != nil || sigs > 0 {
		return err
	}
	if terr := signature.AddDocumentTimestamp(ctx, r, size, w, &signature.ExtendOptions{Timestamper: s.ts, Clock: s.clock}); terr != nil {
		return kerr.WrapKind(kerr.Unavailable, "keiyaku.SealPDF", "time-stamping the unsigned PDF", terr)
	}
	return nil
}

// countSignatures counts the signature dictionaries (not document
// timestamps) the signature package finds in the PDF.
func countSignatures(ctx context.Context, r io.ReaderAt, size int64, at time.Time) (int, error) {
	rep, err := signature.Validate(ctx, r, size, &signature.ValidateOptions{At: at, Revocation: signature.RevocationOff})
	if err != nil {
		return 0, err
	}
	if rep.Error != "" {
		return 0, errors.New(rep.Error)
	}
	n := 0
	for _, sr := range rep.Signatures {
		if sr.Kind == signature.KindSignature {
			n++
		}
	}
	return n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Close releases what Open opened (the embedded database and blob bucket),
// not the collaborators given in Config. It is safe to call more than once.
func (s *Service) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return kerr.Wrap("keiyaku.Service.Close", errors.Join(errs...))
}

// ReminderInterval is how often RunJobs runs the reminder pass
// (Cases.SendReminders): reminders count in days, so an hour late at most.
const ReminderInterval = time.Hour

// MaintenanceInterval is how often RunJobs anchors the audit log with a
// timestamp (Archive.AnchorAudit) and prunes expired sessions and spent
// login throttles (Accounts.Prune).
const MaintenanceInterval = time.Hour

// OrphanInterval is how often RunJobs collects orphan blobs
// (Service.CollectOrphans).
const OrphanInterval = 6 * time.Hour

// CollectOrphans removes the blobs no row names that are older than
// Config.OrphanGrace, and the temporary objects of uploads that never
// finished (storage.Blobs.CollectOrphans, with the Store as the reference
// set and the service clock). RunJobs runs it every OrphanInterval, once
// across processes; an operator may run it at any time. It is an
// operator's action and takes no Principal (like Cases.VerifyHistory).
//
// The grace is measured on the bucket's own clock (storage.Blobs.Now),
// which sets the blobs' modification times, or on the service clock when
// that is earlier: a service clock set ahead (a simulation, a skew) never
// shortens the grace, one set back only lengthens it.
func (s *Service) CollectOrphans(ctx context.Context) (storage.OrphanReport, error) {
	const op = "keiyaku.Service.CollectOrphans"
	now, err := s.Blobs.Now(ctx)
	if err != nil {
		return storage.OrphanReport{}, kerr.Wrap(op, err)
	}
	if c := s.clock(); c.Before(now) {
		now = c
	}
	rep, err := s.Blobs.CollectOrphans(ctx, s.Store, now, s.grace)
	return rep, kerr.Wrap(op, err)
}

// RunJobs runs the scheduled jobs in the service's database until ctx is
// done (package jobs, on River), each at start and then periodically,
// retried with backoff when it fails, once across processes: the evidence
// renewal pass (Service.Renewal) every interval (zero means
// jobs.DefaultRenewalInterval); the audit anchor (Archive.AnchorAudit:
// the head of the audit chain time-stamped by the configured TSA), the
// account pruning (Accounts.Prune), the pruning of expired
// Idempotency-Keys (Store.PruneIdempotent) and the retention sweep
// (Cases.SweepRetention: deletion notices, then deletions at the end of
// each completed case's retention) every MaintenanceInterval; the
// orphan-blob collection (Service.CollectOrphans) every OrphanInterval;
// the reminder pass (Cases.SendReminders) every ReminderInterval.
// It returns ctx's error; kerr.FailedPrecondition at once
// when the Store is neither the embedded SQLite nor PostgreSQL (storage/
// postgres); kerr.Unavailable when River cannot start. Cancel ctx and wait
// for RunJobs to return before Close.
func (s *Service) RunJobs(ctx context.Context, interval time.Duration) error {
	const op = "keiyaku.Service.RunJobs"
	if s.jobs.SQLitePath == "" && s.jobs.Postgres == nil {
		return kerr.E(kerr.FailedPrecondition, op, "the store is neither the embedded SQLite nor storage/postgres: no database for jobs")
	}
	cfg := s.jobs
	cfg.Renewer, cfg.RenewalInterval, cfg.Logger = s.Renewal, interval, s.logger
	cfg.Tasks = []jobs.Task{
		{Name: "audit_anchor", Interval: MaintenanceInterval, Run: func(ctx context.Context) error {
			a, err := s.Archive.AnchorAudit(ctx, s.Store)
			switch {
			case errors.Is(err, kerr.FailedPrecondition): // an empty log: nothing to anchor yet
				return nil
			case err == nil:
				s.logger.InfoContext(ctx, "jobs: audit log anchored", "seq", a.Seq)
			}
			return err
		}},
		{Name: "blob_collect", Interval: OrphanInterval, Run: func(ctx context.Context) error {
			rep, err := s.CollectOrphans(ctx)
			if err == nil {
				s.logger.InfoContext(ctx, "jobs: orphan blobs collected", "listed", rep.Listed, "removed", rep.Removed, "bytes", rep.Bytes, "young", rep.Young)
			}
			return err
		}},
		{Name: "reminders", Interval: ReminderInterval, Run: func(ctx context.Context) error {
			rep, err := s.Cases.SendReminders(ctx)
			if err == nil {
				s.logger.InfoContext(ctx, "jobs: reminder pass", "checked", rep.Checked, "reminders", rep.Reminders, "overdue", rep.Overdue)
			}
			return err
		}},
		{Name: "retention_sweep", Interval: MaintenanceInterval, Run: func(ctx context.Context) error {
			rep, err := s.Cases.SweepRetention(ctx)
			if rep != nil {
				s.logger.InfoContext(ctx, "jobs: retention sweep", "checked", rep.Checked, "noticed", rep.Noticed, "deleted", rep.Deleted, "resumed", rep.Resumed)
			}
			return err
		}},
		{Name: "account_prune", Interval: MaintenanceInterval, Run: func(ctx context.Context) error {
			sessions, throttles, err := s.Accounts.Prune(ctx)
			if err == nil {
				s.logger.InfoContext(ctx, "jobs: accounts pruned", "sessions", sessions, "throttles", throttles)
			}
			return err
		}},
		{Name: "idempotency_prune", Interval: MaintenanceInterval, Run: func(ctx context.Context) error {
			n, err := s.Store.PruneIdempotent(ctx, s.Archive.Now())
			if err == nil && n > 0 {
				s.logger.InfoContext(ctx, "jobs: idempotency keys pruned", "keys", n)
			}
			return err
		}},
	}
	r, err := jobs.New(ctx, cfg)
	if err != nil {
		return kerr.Wrap(op, err)
	}
	err = r.Run(ctx)
	if cerr := r.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// ErrNoMailer is the cause of the error DeliverOnce and RunNotifier return
// when the Service has no mailer (Config.SMTP and Config.Mailer unset); the
// error is of kind kerr.FailedPrecondition.
var ErrNoMailer = errors.New("no mailer configured: set Config.SMTP or Config.Mailer")

// DeliverOnce claims the notices due now from the outbox and tries each
// once (notify.Worker.RunOnce): delivered counts those the mailer
// accepted, failed those rescheduled or given up. err is not nil when the
// outbox failed or ctx ended, or wraps ErrNoMailer.
func (s *Service) DeliverOnce(ctx context.Context) (delivered, failed int, err error) {
	if s.worker == nil {
		return 0, 0, kerr.E(kerr.FailedPrecondition, "keiyaku.Service.DeliverOnce", "%w", ErrNoMailer)
	}
	return s.worker.RunOnce(ctx)
}

// RunNotifier delivers notices (notify.Worker.Run) and webhooks
// (Webhooks.Run) until ctx is done and then returns ctx.Err(); without a
// mailer it returns at once with an error wrapping ErrNoMailer (then run
// Webhooks.Run alone for webhooks). Cancel ctx and wait for RunNotifier
// to return before Close. Delivery is at least once (see packages notify
// and webhook).
func (s *Service) RunNotifier(ctx context.Context) error {
	if s.worker == nil {
		return kerr.E(kerr.FailedPrecondition, "keiyaku.Service.RunNotifier", "%w", ErrNoMailer)
	}
	done := make(chan error, 1)
	go func() { done <- s.Webhooks.Run(ctx) }()
	err := s.worker.Run(ctx)
	<-done
	return err
}

// OriginalCheck is the result of VerifyOriginal: original verification
// (原本検証) of every sealed file of a completed case.
type OriginalCheck struct {
	// Original is true when every PDF and every supplementary file checked
	// is original.
	Original bool
	// PDFs are the sealed contract (and acceptance) PDFs with their
	// verdicts; Files the supplementary files with theirs.
	PDFs  []PDFCheck
	Files []FileCheck
}

// PDFCheck is the verdict on one sealed PDF.
type PDFCheck struct {
	File    casework.File
	Verdict *archive.PDFVerification
	// Evidence and Record are the PDF's RFC 4998 evidence record (name +
	// ".ers") and its verdict, a second line of evidence beside the
	// PDF's own document timestamps; zero and nil for cases sealed
	// before records. Verdict alone decides Original.
	Evidence casework.File
	Record   *archive.FileVerification
}

// FileCheck is the verdict on one supplementary file and its evidence.
type FileCheck struct {
	File casework.File
	// Token is the sealed evidence file: an RFC 4998 evidence record
	// (name + ".ers") or, for cases completed before records, an RFC 3161
	// token (name + ".tst").
	Token   casework.File
	Verdict *archive.FileVerification
}

// VerifyOriginal runs original verification at the service's clock on the
// sealed files of completed case id, for a principal that may see the
// case: each sealed PDF with Archive.VerifyPDF (TOTAL_PASSED at PAdES
// B-LTA, nothing appended after the last document timestamp) and each
// supplementary file against its evidence record (or, for older cases,
// token) with Archive.VerifyFile. A file
// that is not original is a verdict, not an error.
//
// Errors: those of Cases.Get (kerr.NotFound for a case p may not see);
// kerr.FailedPrecondition for a case that is not completed; kerr.Internal
// for a sealed file missing or corrupt in Blobs; kerr.Unavailable when a
// check could not run.
func (s *Service) VerifyOriginal(ctx context.Context, p account.Principal, id string) (*OriginalCheck, error) {
	const op = "keiyaku.Service.VerifyOriginal"
	c, err := s.Cases.LoadForVerification(ctx, p, id)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if c.State != casework.StateCompleted {
		return nil, kerr.E(kerr.FailedPrecondition, op, "case %q is %s; only a completed case has sealed originals", id, c.State)
	}
	out := &OriginalCheck{Original: true}
	// Evidence files are named for what they prove: name + ".ers" (RFC
	// 4998 record) or, before records, name + ".tst" (token).
	evidence := map[string]casework.File{}
	for _, f := range c.Sealed {
		if base, ok := strings.CutSuffix(f.Name, ".ers"); ok {
			evidence[base] = f
		} else if base, ok := strings.CutSuffix(f.Name, ".tst"); ok && f.ContentType != "application/pdf" {
			evidence[base] = f
		}
	}
	for _, f := range c.Sealed {
		if f.ContentType != "application/pdf" {
			continue
		}
		ra, err := s.Blobs.ReaderAt(ctx, f.Key, f.Size)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		v, err := s.Archive.VerifyPDF(ctx, ra, f.Size, nil)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		pc := PDFCheck{File: f, Verdict: v}
		if ev, ok := evidence[f.Name]; ok {
			if pc.Record, err = s.verifyPDFRecord(ctx, ra, f, v, ev); err != nil {
				return nil, kerr.Wrap(op, err)
			}
			pc.Evidence = ev
		}
		out.PDFs = append(out.PDFs, pc)
		out.Original = out.Original && v.Original
	}
	for _, sup := range c.Supplements {
		ev, ok := evidence[sup.Name]
		if !ok {
			return nil, kerr.E(kerr.Internal, op, "case %q has no evidence for its supplementary file %q", id, sup.Name)
		}
		v, err := s.verifyFile(ctx, sup, ev)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		out.Files = append(out.Files, FileCheck{File: sup, Token: ev, Verdict: v})
		out.Original = out.Original && v.Original
	}
	if len(out.PDFs) == 0 && len(out.Files) == 0 {
		out.Original = false
	}
	return out, nil
}

func (s *Service) verifyFile(ctx context.Context, f, token casework.File) (*archive.FileVerification, error) {
	tr, err := s.Blobs.Open(ctx, token.Key, token.Size)
	if err != nil {
		return nil, err
	}
	// The evidence is an RFC 4998 record (ers.MaxRecordSize) or, for cases
	// completed before records, a token.
	tok, err := io.ReadAll(io.LimitReader(tr, ers.MaxRecordSize+1))
	tr.Close()
	if err != nil {
		return nil, err
	}
	r, err := s.Blobs.Open(ctx, f.Key, f.Size)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return s.Archive.VerifyFile(ctx, r, tok, nil)
}

// devTSA returns the development TSA key and certificate in dir, making
// them on first use (timestamp.DevelopmentCertificate, valid for ten
// years).
func devTSA(dir string, now time.Time) (crypto.Signer, *x509.Certificate, error) {
	keyPath, certPath := filepath.Join(dir, "tsa-key.pem"), filepath.Join(dir, "tsa-cert.pem")
	if _, err := os.Stat(certPath); err == nil {
		key, err := readKey(keyPath)
		if err != nil {
			return nil, nil, err
		}
		cert, err := readCert(certPath)
		if err != nil {
			return nil, nil, err
		}
		if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			return nil, nil, fmt.Errorf("the development TSA certificate %s is valid from %s to %s, not at %s: remove %s and its key to make a new one",
				certPath, cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339), now.Format(time.RFC3339), certPath)
		}
		return key, cert, nil
	}
	key, cert, err := timestamp.DevelopmentCertificate(now, now.AddDate(10, 0, 0))
	if err != nil {
		return nil, nil, err
	}
	der := cert.Raw
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	// The key first: a certificate without its key would block every
	// later start, a key without a certificate is simply made again.
	if err := writeFileSync(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := writeFileSync(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

// writeFileSync writes data to path through a temporary file, fsynced and
// renamed, so that path holds either nothing or all of data.
func writeFileSync(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func readKey(path string) (crypto.Signer, error) { return pemfile.PrivateKey(path) }

func readCert(path string) (*x509.Certificate, error) {
	certs, err := pemfile.Certificates(path)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// isSelfSigned reports whether c is signed by its own key.
// CheckSignatureFrom would refuse an end-entity issuer such as the
// development TSA certificate, hence CheckSignature.
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// NewValidator returns the default casework.Validator: the signature
// package under opts (nil means the zero options; opts.At is ignored, the
// time comes with each call). Verdict.Passed is true when the file parses
// and every signature and document timestamp in it is TOTAL_PASSED (ETSI
// EN 319 102-1 §5.1.2); with ValidateOptions.PriorSize it runs
// signature.Validator.ValidateUpdate and reports its OnlySignatures and
// AddedSignatures (ISO 32000-2 §12.8.2.2). Verdict.Signers describes each
// signature from signature.Report: the signer certificate (subject,
// issuer, serial, SHA-256, validity, key usage, policies), its issuer's
// SHA-256, its revision, and whether it lies after PriorSize.
func NewValidator(opts *signature.ValidateOptions) casework.Validator {
	a := &validatorAdapter{}
	if opts != nil {
		a.opts = *opts
	}
	a.opts.At = time.Time{}
	a.now = signature.NewValidator(&a.opts)
	return a
}

type validatorAdapter struct {
	opts signature.ValidateOptions
	now  *signature.Validator
}

var _ casework.Validator = (*validatorAdapter)(nil)

// Validate implements casework.Validator.
func (a *validatorAdapter) Validate(ctx context.Context, r io.ReaderAt, size int64, opts *casework.ValidateOptions) (*casework.Verdict, error) {
	const op = "keiyaku.Validator.Validate"
	if opts == nil {
		opts = &casework.ValidateOptions{}
	}
	val := a.now
	if !opts.At.IsZero() {
		val = a.now.At(opts.At) // shares the trust pool and path cache
	}
	var rep *signature.Report
	var updateReasons []string
	v := &casework.Verdict{}
	if opts.PriorSize > 0 {
		up, err := val.ValidateUpdate(ctx, r, size, opts.PriorSize)
		if err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, op, "the PDF could not be validated", err)
		}
		rep = up.Report
		v.OnlyAllowedChanges = up.OnlySignatures
		v.AddedSignatures = up.AddedSignatures
		updateReasons = up.Reasons
	} else {
		var err error
		if rep, err = val.Validate(ctx, r, size); err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, op, "the PDF could not be validated", err)
		}
	}
	judge(rep, v)
	v.Signers = signers(rep, opts.PriorSize)
	v.ChangedPage = changedPage(updateReasons)
	// The update's reasons often repeat what a failed signature says.
	for _, r := range updateReasons {
		if !strings.Contains(strings.Join(v.Reasons, "\n"), r) {
			v.Reasons = append(v.Reasons, r)
		}
	}
	return v, nil
}

// judge fills Passed, Signatures and the reasons of failed entries from
// rep.
func judge(rep *signature.Report, v *casework.Verdict) {
	if rep.Error != "" {
		v.Unreadable = true
		v.Reasons = append(v.Reasons, "the file cannot be read as a PDF: "+rep.Error)
		return
	}
	v.Passed = true
	for _, sr := range rep.Signatures {
		if sr.Kind == signature.KindSignature {
			v.Signatures++
		}
		if sr.Indication == signature.TotalPassed {
			continue
		}
		v.Passed = false
		who := string(sr.Kind) + " " + sr.Field
		if sr.Signer != nil && sr.Signer.CommonName != "" {
			who += " (" + sr.Signer.CommonName + ")"
		}
		res := string(sr.Indication)
		if sr.SubIndication != "" {
			res += "/" + string(sr.SubIndication)
		}
		if len(sr.Problems) > 0 {
			res += ": " + strings.Join(sr.Problems, "; ")
		}
		v.Reasons = append(v.Reasons, who+" is "+res)
	}
}

// signers describes each signature (not document timestamp) of rep for
// casework: the signer certificate, its issuer's fingerprint, and whether
// it lies after priorSize bytes (its /ByteRange ends there or later: the
// signed revision is new in the upload).
func signers(rep *signature.Report, priorSize int64) []casework.Signer {
	var out []casework.Signer
	for _, sr := range rep.Signatures {
		if sr.Kind != signature.KindSignature {
			continue
		}
		sg := casework.Signer{Field: sr.Field, Revision: sr.Revision, Passed: sr.Indication == signature.TotalPassed,
			Indication: string(sr.Indication), Reasons: sr.Reasons}
		if sr.SubIndication != "" {
			sg.Indication += "/" + string(sr.SubIndication)
		}
		if br := sr.ByteRange; len(br) == 4 {
			sg.Added = priorSize <= 0 || br[2]+br[3] > priorSize
		} else {
			sg.Added = priorSize <= 0
		}
		if c := sr.Signer; c != nil {
			sg.Certificate = casework.Certificate{Subject: c.Subject, Issuer: c.Issuer, Serial: c.Serial, SHA256: c.SHA256,
				Organization: c.Organization, SubjectSerialNumber: c.SubjectSerialNumber, OrganizationIdentifier: c.OrganizationIdentifier,
				NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyUsage: c.KeyUsage, ExtKeyUsage: c.ExtKeyUsage, Policies: c.Policies}
		}
		if len(sr.Chain) > 1 && sr.Chain[1] != nil {
			sg.IssuerSHA256 = sr.Chain[1].SHA256
		}
		if sr.Timestamp != nil {
			sg.Timestamped = sr.Timestamp.Time
		}
		out = append(out, sg)
	}
	return out
}
