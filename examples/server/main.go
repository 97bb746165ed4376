// Command server runs keiyaku on its own: the REST API (httpapi, with its
// OpenAPI document at /openapi.json), the notice worker, health and
// readiness checks and Prometheus metrics.
//
//	go run ./examples/server [-addr 127.0.0.1:8080] [-dir keiyaku-data] [-demo]
//
// On an empty data directory it starts on the embedded default (SQLite,
// files and the development TSA under DIR), creates a service operator
// (account.Service.CreateOperator: it creates companies and their first
// administrators and decides company-name requests, and sees no contract
// content) and prints its login, operator, and initial password (to be
// changed at the first login). -demo also creates two
// companies with a user each, prints their logins, and sets up a demo CA
// (keys and certificates in DIR/demo) whose certificates the server
// trusts, so that documents signed with them (go run ./examples/sign)
// pass. Every flag has an environment variable (shown by -help); a flag
// wins over its variable. A configuration error is one line on standard
// error and exit status 2.
//
// Backups of the embedded default (package backup; online, while a
// server runs on DIR):
//
//	go run ./examples/server backup -dir DIR -out BACKUP
//	go run ./examples/server restore -from BACKUP -dir NEWDIR
//	go run ./examples/server check -dir DIR
//
// It prints "listening on http://ADDR" once it accepts connections, logs
// every request with log/slog (request ID, user, status, duration), and
// on SIGINT or SIGTERM stops accepting, finishes the requests in flight
// (up to 30 seconds) and exits 0.
package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "gocloud.dev/blob/s3blob" // -s3 s3://… URLs

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/httpapi/portal"
	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
	"github.com/keiyaku/keiyaku/storage/s3lock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed flags.
type options struct {
	addr, dir, baseURL           string
	demo                         bool
	tlsCert, tlsKey              string
	postgres, s3                 string
	postgresSchema               string
	smtpAddr, smtpFrom, smtpUser string
	smtpPasswordFile             string
	smtpTLS                      string
	tsaURL, trustAnchors         string
	logLevel                     string
	trustedProxies               string
	insecureCookie               bool
	s3ObjectLock                 bool
	loginKeyFile                 string
	readHeaderTimeout            time.Duration
	webhookKeyFile               string
}

// env returns the environment variable name of a flag.
func env(name string) string {
	return "KEIYAKU_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, name, def, usage string) {
		if v, ok := os.LookupEnv(env(name)); ok {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+env(name)+")")
	}
	boolean := func(p *bool, name, usage string) {
		def := false
		if v, ok := os.LookupEnv(env(name)); ok {
			def, _ = strconv.ParseBool(v)
		}
		fs.BoolVar(p, name, def, usage+" (env "+env(name)+")")
	}
	str(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	str(&o.dir, "dir", "keiyaku-data", "data directory, created if missing: the embedded database, blobs, TSA and demo files")
	str(&o.baseURL, "base-url", "", "the server's public URL for links in notices; empty means http(s)://ADDR")
	boolean(&o.demo, "demo", "create two demo companies with users and a demo CA on first start")
	str(&o.tlsCert, "tls-cert", "", "TLS certificate chain (PEM); with -tls-key serves HTTPS")
	str(&o.tlsKey, "tls-key", "", "TLS private key (PEM)")
	str(&o.postgres, "postgres", "", "PostgreSQL DSN; empty means SQLite in -dir")
	str(&o.postgresSchema, "postgres-schema", "", "PostgreSQL schema of keiyaku's tables; empty means "+postgres.DefaultSchema)
	str(&o.s3, "s3", "", "blob bucket URL (gocloud.dev, e.g. s3://bucket?region=...); empty means files in -dir")
	boolean(&o.s3ObjectLock, "s3-object-lock", "write sealed contracts and evidence records with S3 Object Lock (compliance mode) until 10 years after completion; the -s3 bucket must have been created with Object Lock enabled")
	str(&o.loginKeyFile, "login-key-file", "", "file of at least 16 secret bytes keying the login throttles; every process of one service needs the same (empty: a random key per process, throttles counted per process)")
	str(&o.smtpAddr, "smtp", "", "SMTP submission server host:port for notices; empty means notices wait in the outbox")
	str(&o.smtpFrom, "smtp-from", "keiyaku <no-reply@localhost>", "From address of notices")
	str(&o.smtpUser, "smtp-user", "", "SMTP user name")
	str(&o.smtpPasswordFile, "smtp-password-file", "", "file holding the SMTP password")
	str(&o.smtpTLS, "smtp-tls", "mandatory", "SMTP TLS: mandatory (STARTTLS required), opportunistic, or none (a relay on this host, a test server)")
	str(&o.tsaURL, "tsa-url", "", "remote RFC 3161 TSA URL; empty means the development TSA in -dir")
	str(&o.trustAnchors, "trust-anchors", "", "PEM file of the CA roots signer certificates must chain to")
	str(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	str(&o.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed")
	boolean(&o.insecureCookie, "insecure-cookie", "leave Secure off the session cookie (plain-http development on a non-localhost name)")
	str(&o.webhookKeyFile, "webhook-key-file", "", "file holding 64 hex digits, the AES-256 key that seals webhook secrets at rest; empty means they are stored unsealed")
	rht := "10s"
	str(&rht, "read-header-timeout", rht, "how long a client may take to send its request headers (slow clients are cut off)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.dir == "" {
		return nil, errors.New("-dir may not be empty: name the data directory (created if missing)")
	}
	d, err := time.ParseDuration(rht)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("-read-header-timeout %q is not a positive duration such as 10s", rht)
	}
	o.readHeaderTimeout = d
	if o.s3ObjectLock && o.s3 == "" {
		return nil, errors.New("-s3-object-lock needs -s3")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "backup" || args[0] == "restore" || args[0] == "check") {
		return runBackup(ctx, args[0], args[1:], stdout, stderr)
	}
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "server: configuration:", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintf(stderr, "server: configuration: -log-level %q: use debug, info, warn or error\n", o.logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, o, log, stdout); err != nil {
		if kerr.Of(err) == kerr.Invalid {
			fmt.Fprintln(stderr, "server: configuration:", err)
			return 2
		}
		fmt.Fprintln(stderr, "server:", err)
		return 1
	}
	return 0
}

func configError(format string, args ...any) error {
	return kerr.E(kerr.Invalid, "server", format, args...)
}

// config turns the options into a keiyaku.Config (plus what serve must
// close).
func config(ctx context.Context, o *options, log *slog.Logger, scheme string) (keiyaku.Config, []func() error, error) {
	cfg := keiyaku.Config{Dir: o.dir, Logger: log}
	var closers []func() error
	if o.postgres != "" {
		st, err := postgres.Open(ctx, postgres.Config{DSN: o.postgres, Schema: o.postgresSchema})
		if err != nil {
			return cfg, closers, kerr.WrapKind(kerr.Invalid, "server", "-postgres", err)
		}
		cfg.Store = st
		closers = append(closers, st.Close)
	}
	if o.s3 != "" {
		b, err := storage.OpenBlobs(ctx, o.s3)
		if err != nil {
			return cfg, closers, kerr.WrapKind(kerr.Invalid, "server", "-s3", err)
		}
		if o.s3ObjectLock {
			b.SetRetain(s3lock.Compliance)
		}
		cfg.Blobs = b
		closers = append(closers, b.Close)
	}
	if o.webhookKeyFile != "" {
		b, err := os.ReadFile(o.webhookKeyFile)
		if err != nil {
			return cfg, closers, configError("-webhook-key-file: %v", err)
		}
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != 32 {
			return cfg, closers, configError("-webhook-key-file %s must hold 64 hex digits (32 bytes)", o.webhookKeyFile)
		}
		cfg.Webhook.Key = key
	}
	if o.smtpAddr != "" {
		host, port, err := net.SplitHostPort(o.smtpAddr)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			return cfg, closers, configError("-smtp %q is not host:port", o.smtpAddr)
		}
		cfg.SMTP = notify.SMTPConfig{Host: host, Port: n, From: o.smtpFrom, Username: o.smtpUser}
		switch o.smtpTLS {
		case notify.TLSMandatory.String():
		case notify.TLSOpportunistic.String():
			cfg.SMTP.TLSPolicy = notify.TLSOpportunistic
		case notify.TLSNone.String():
			cfg.SMTP.TLSPolicy = notify.TLSNone
		default:
			return cfg, closers, configError("-smtp-tls %q: use mandatory, opportunistic or none", o.smtpTLS)
		}
		if o.smtpPasswordFile != "" {
			pw, err := os.ReadFile(o.smtpPasswordFile)
			if err != nil {
				return cfg, closers, configError("-smtp-password-file: %v", err)
			}
			cfg.SMTP.Password = strings.TrimSpace(string(pw))
		}
	}
	if o.loginKeyFile != "" {
		key, err := os.ReadFile(o.loginKeyFile)
		if err != nil || len(key) < 16 {
			return cfg, closers, configError("-login-key-file: need a readable file of at least 16 bytes (%v)", err)
		}
		cfg.LoginKey = key
	}
	cfg.TSA.URL = o.tsaURL
	if o.trustAnchors != "" {
		certs, err := pemfile.Certificates(o.trustAnchors)
		if err != nil {
			return cfg, closers, configError("-trust-anchors: %v", err)
		}
		cfg.TrustAnchors = certs
	}
	base := strings.TrimSuffix(o.baseURL, "/")
	if base == "" {
		base = scheme + "://" + o.addr
	}
	// Notices link the case's page in the portal (mounted at /).
	cfg.CaseURL = func(id string) string { return base + "/cases/" + id }
	return cfg, closers, nil
}

func serve(ctx context.Context, o *options, log *slog.Logger, stdout io.Writer) error {
	var proxies []netip.Prefix
	for _, s := range strings.Split(o.trustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return configError("-trusted-proxies %q is not a CIDR", s)
		}
		proxies = append(proxies, p)
	}
	scheme := "http"
	var tlsCfg *tls.Config
	if o.tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return configError("-tls-cert/-tls-key: %v", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return configError("-dir: %v", err)
	}
	cfg, closers, err := config(ctx, o, log, scheme)
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}()
	if err != nil {
		return err
	}
	var demo *demoCA
	if o.demo || exists(filepath.Join(o.dir, "demo", "ca-cert.pem")) {
		if demo, err = loadDemoCA(filepath.Join(o.dir, "demo")); err != nil {
			return err
		}
		cfg.TrustAnchors = append(cfg.TrustAnchors, demo.root)
		cfg.CRLs = append(cfg.CRLs, demo.crl)
	}
	svc, err := keiyaku.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := firstStart(ctx, svc, stdout, o.demo, demo); err != nil {
		return err
	}

	api, err := httpapi.New(httpapi.Config{Service: svc, Logger: log, TrustedProxies: proxies, InsecureCookie: o.insecureCookie})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// Ready when the store answers: an unknown user is NotFound.
		if _, err := svc.Store.GetUser(r.Context(), "readyz-probe"); err != nil && !errors.Is(err, kerr.NotFound) {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/v1/", api)
	mux.Handle("/openapi.json", api)
	// The portal at the root. Its session cookie is Secure (and named
	// __Host-session) unless the server speaks plain HTTP, which only a
	// development server on a loopback address should.
	web, err := portal.New(portal.Config{Service: svc, Logger: log, InsecureCookies: o.insecureCookie || tlsCfg == nil})
	if err != nil {
		return err
	}
	mux.Handle("/", web)

	srv := &http.Server{
		Handler:           logRequests(log, m, mux),
		TLSConfig:         tlsCfg,
		MaxHeaderBytes:    httpapi.MaxHeaderBytes,
		ReadHeaderTimeout: o.readHeaderTimeout,
		// A whole request (up to httpapi.MaxRegisterBody) must arrive
		// within ReadTimeout: about 270 kB/s at the largest; a slower
		// client is cut off.
		ReadTimeout:  5 * time.Minute,
		WriteTimeout: 10 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return configError("-addr %s: %v", o.addr, err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	fmt.Fprintf(stdout, "listening on %s://%s\n", scheme, ln.Addr())
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	notifierDone := make(chan struct{})
	go func() {
		defer close(notifierDone)
		err := svc.RunNotifier(workCtx)
		if errors.Is(err, keiyaku.ErrNoMailer) { // no SMTP: webhooks still go out
			err = svc.Webhooks.Run(workCtx)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Error("notifier stopped", "err", err)
		}
	}()
	// The scheduled jobs (package jobs on River: the evidence renewal
	// pass, the hourly audit anchor and account pruning).
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		if err := svc.RunJobs(workCtx, 0); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("jobs stopped", "err", err)
		}
	}()
	waitWork := func() {
		<-notifierDone
		<-jobsDone
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		stopWork()
		waitWork()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopWork()
	waitWork()
	return err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keiyaku_http_requests_total", Help: "HTTP requests by method and status."}, []string{"method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "keiyaku_http_request_duration_seconds", Help: "HTTP request duration.", Buckets: prometheus.DefBuckets}, []string{"method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one line per request and counts it.
func logRequests(log *slog.Logger, m *metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = httpapi.WithRequestInfo(r)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		m.requests.WithLabelValues(r.Method, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(r.Method).Observe(d.Seconds())
		log.Info("request", "request_id", httpapi.RequestID(r.Context()), "user", httpapi.UserID(r.Context()),
			"method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", d)
	})
}
