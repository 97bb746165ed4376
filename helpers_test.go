package keiyaku_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"github.com/jackc/pgx/v5"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/storage/postgres"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
)

// fastParams keep argon2id cheap in tests; the parameters are still
// checked and stored like real ones.
var fastParams = account.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

func fixedClock() time.Time { return testpki.Now }

// ---- a real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1 ----

type smtpServer struct {
	Host string
	Port int

	mu    sync.Mutex
	mails []rawMail
}

type rawMail struct {
	From string
	To   []string
	Data []byte
}

func startSMTP(t testing.TB) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = addr.IP.String(), addr.Port
	return s
}

// take returns the mails received since the last take.
func (s *smtpServer) take() []rawMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.mails
	s.mails = nil
	return out
}

type smtpSession struct {
	srv  *smtpServer
	from string
	to   []string
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }
func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.srv.mu.Lock()
	ss.srv.mails = append(ss.srv.mails, rawMail{From: ss.from, To: append([]string(nil), ss.to...), Data: data})
	ss.srv.mu.Unlock()
	return nil
}

// mail is a received mail, decoded.
type mail struct {
	To       string // envelope recipient
	HeaderTo string
	Language string // Content-Language
	Subject  string
	Body     string
}

func decodeMail(t testing.TB, m rawMail) mail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("mail does not parse: %v\n%s", err, m.Data)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject: %v", err)
	}
	var body io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(msg.Body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, msg.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	to, err := netmail.ParseAddress(msg.Header.Get("To"))
	if err != nil {
		t.Fatalf("To: %v", err)
	}
	if len(m.To) != 1 {
		t.Fatalf("mail to %d envelope recipients %v; want one per notice", len(m.To), m.To)
	}
	return mail{To: m.To[0], HeaderTo: to.Address, Language: msg.Header.Get("Content-Language"), Subject: subj,
		Body: strings.ReplaceAll(string(b), "\r\n", "\n")}
}

// ---- the world: a service, a test PKI, four companies ----

type member struct {
	Key      string // "A".."D"
	Company  string
	Name     string
	Email    string
	Lang     string
	LoginID  string
	Password string
	Cert     *testpki.Cert
	P        account.Principal
}

type world struct {
	t    testing.TB
	ctx  context.Context
	pki  *testpki.PKI
	svc  *keiyaku.Service
	smtp *smtpServer
	dir  string
	tpl  *notify.Templates
	m    map[string]*member
	// mutate, when set, adjusts the Config before each Open.
	mutate func(*keiyaku.Config)
}

// newWorld opens the facade on SQLite in a temporary directory, with the
// test PKI trusted, online revocation from its responders, a real SMTP
// server, and companies A (ja), B (en), C (ja), D (en), each with one
// administrator who signs with their own certificate.
func newWorld(t testing.TB) *world { return newWorldWith(t, nil) }

// newWorldWith is newWorld with mutate applied to the Config (it may read
// the PKI from w).
// dataDir is the service's directory: t.TempDir(), or for a benchmark a
// new directory in $KEIYAKU_BENCH_DIR when set. Why: on an ext4 file
// system without a journal (this CI machine's), creating a file costs
// ten times more in a directory group where many files were deleted in
// the last minutes, as in $TMPDIR after other tests (0.45 ms against
// 0.05 ms per create here); a service's data directory only grows.
func dataDir(t testing.TB) string {
	base := os.Getenv("KEIYAKU_BENCH_DIR")
	if _, bench := t.(*testing.B); !bench || base == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp(base, "keiyaku-bench-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func newWorldWith(t testing.TB, mutate func(w *world, cfg *keiyaku.Config)) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), pki: testpki.New(t), smtp: startSMTP(t), dir: dataDir(t)}
	if mutate != nil {
		w.mutate = func(cfg *keiyaku.Config) { mutate(w, cfg) }
	}
	w.svc = w.open()
	t.Cleanup(func() {
		if err := w.svc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	var err error
	if w.tpl, err = notify.DefaultTemplates(); err != nil {
		t.Fatal(err)
	}
	w.m = map[string]*member{}
	for _, spec := range []struct {
		key, company, name, lang string
		cert                     *testpki.Cert
	}{
		{"A", "株式会社エー商事", "山田 太郎", "ja", w.pki.ECDSAP256},
		{"B", "Bee Trading Ltd.", "Betty Brown", "en", w.pki.RSA},
		{"C", "シー工業株式会社", "佐藤 花子", "ja", w.pki.ECDSAP384},
		{"D", "Dee Holdings", "Dan Dee", "en", w.pki.Ed25519},
	} {
		w.m[spec.key] = w.newMember(spec.key, spec.company, spec.name, spec.lang, spec.cert)
	}
	return w
}

func (w *world) open() *keiyaku.Service {
	w.t.Helper()
	cfg := keiyaku.Config{
		Dir:            w.dir,
		TrustAnchors:   []*x509.Certificate{w.pki.Root.Cert},
		Intermediates:  []*x509.Certificate{w.pki.Intermediate.Cert},
		Online:         true,
		SMTP:           notify.SMTPConfig{Host: w.smtp.Host, Port: w.smtp.Port, From: "keiyaku <no-reply@keiyaku.example>", TLSPolicy: notify.TLSNone},
		PasswordParams: fastParams,
		Clock:          fixedClock,
	}
	if w.mutate != nil {
		w.mutate(&cfg)
	}
	svc, err := keiyaku.Open(w.ctx, cfg)
	if err != nil {
		w.t.Fatalf("Open: %v", err)
	}
	return svc
}

func (w *world) newMember(key, company, name, lang string, cert *testpki.Cert) *member {
	w.t.Helper()
	m := &member{Key: key, Company: company, Name: name, Email: strings.ToLower(key) + "@" + strings.ToLower(key) + ".example",
		Lang: lang, LoginID: "admin-" + strings.ToLower(key), Password: "correct horse " + key, Cert: cert}
	_, _, initial, err := w.svc.Accounts.CreateCompany(w.ctx, company, account.NewUser{
		LoginID: m.LoginID, Profile: storage.Profile{Name: name, Email: m.Email, Language: lang},
	}, "")
	if err != nil {
		w.t.Fatalf("CreateCompany %s: %v", company, err)
	}
	sess, err := w.svc.Accounts.Login(w.ctx, m.LoginID, initial, "127.0.0.1")
	if err != nil {
		w.t.Fatalf("Login %s: %v", m.LoginID, err)
	}
	if err := w.svc.Accounts.ChangePassword(w.ctx, sess.Token, initial, m.Password, "127.0.0.1"); err != nil {
		w.t.Fatalf("ChangePassword: %v", err)
	}
	if sess, err = w.svc.Accounts.Login(w.ctx, m.LoginID, m.Password, "127.0.0.1"); err != nil {
		w.t.Fatalf("Login: %v", err)
	}
	if m.P, err = w.svc.Accounts.Authenticate(w.ctx, sess.Token, "127.0.0.1"); err != nil {
		w.t.Fatalf("Authenticate: %v", err)
	}
	// The company registers the certificate its people sign with: only
	// then do its signatures count as its own.
	if _, err := w.svc.Accounts.RegisterSignerCertificate(w.ctx, m.P, cert.Cert); err != nil {
		w.t.Fatalf("RegisterSignerCertificate %s: %v", m.Key, err)
	}
	return m
}

func (w *world) party(m *member) casework.Party {
	return casework.Party{CompanyID: m.P.CompanyID, CompanyName: m.Company, UserID: m.P.UserID}
}

// contract is an unsigned one-page contract PDF.
func contract(text string) []byte {
	return bytes.Clone(pdftest.OnePage("BT /F1 12 Tf 72 720 Td (" + text + ") Tj ET").Bytes())
}

// sign adds m's PAdES B-B signature in a new incremental update.
func (w *world) sign(m *member, in []byte) []byte {
	w.t.Helper()
	var out bytes.Buffer
	err := signature.Sign(w.ctx, bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: m.Cert.Key, Certificate: m.Cert.Cert, Chain: []*x509.Certificate{w.pki.Intermediate.Cert},
		SigningTime: testpki.Now, Name: m.Name, Reason: "contract",
	})
	if err != nil {
		w.t.Fatalf("Sign by %s: %v", m.Key, err)
	}
	return out.Bytes()
}

// tamper appends an incremental update that replaces the page's content
// stream (pdftest.ReplacePageContent): the visible contract changes while
// every earlier byte stays as it was.
func tamper(t *testing.T, in []byte, text string) []byte {
	t.Helper()
	out, err := pdftest.ReplacePageContent(in, text)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func upload(name string, b []byte) casework.Upload {
	return casework.Upload{Name: name, ContentType: "application/pdf", Body: bytes.NewReader(b)}
}

// receive downloads the case as m and returns the bytes.
func (w *world) receive(m *member, id string) []byte {
	w.t.Helper()
	r, c, err := w.svc.Cases.Receive(w.ctx, m.P, id)
	if err != nil {
		w.t.Fatalf("Receive by %s: %v", m.Key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		w.t.Fatalf("reading the received PDF: %v", err)
	}
	if c.State != casework.StateReceived {
		w.t.Fatalf("after Receive the case is %s, want received", c.State)
	}
	return b
}

// notice is a mail the test expects.
type notice struct {
	To     *member
	Type   notify.EventType
	Reason string // for sent_back: must appear in the body
}

// expectMails delivers the outbox and checks that exactly the wanted
// notices arrived, each to its recipient, in the recipient's language,
// with the subject the built-in template gives for the case.
func (w *world) expectMails(caseName string, want ...notice) {
	w.t.Helper()
	delivered, failed, err := w.svc.DeliverOnce(w.ctx)
	if err != nil || failed != 0 || delivered != len(want) {
		w.t.Fatalf("DeliverOnce = %d delivered, %d failed, %v; want %d delivered", delivered, failed, err, len(want))
	}
	var got []mail
	for _, raw := range w.smtp.take() {
		got = append(got, decodeMail(w.t, raw))
	}
	for _, n := range want {
		rendered, err := w.tpl.Render(&notify.Message{ID: "x", Type: n.Type, CaseID: "x", CaseName: caseName,
			Recipient: notify.Recipient{Email: n.To.Email, Language: notify.Language(n.To.Lang)}})
		if err != nil {
			w.t.Fatalf("render %s: %v", n.Type, err)
		}
		found := -1
		for i, g := range got {
			if g.To == n.To.Email && g.Subject == rendered.Subject {
				found = i
				break
			}
		}
		if found < 0 {
			w.t.Errorf("no %s mail to %s with subject %q; got %+v", n.Type, n.To.Email, rendered.Subject, subjects(got))
			continue
		}
		g := got[found]
		got = append(got[:found], got[found+1:]...)
		if g.HeaderTo != n.To.Email || g.Language != n.To.Lang {
			w.t.Errorf("%s mail to %s: To header %q, Content-Language %q; want %q, %q", n.Type, n.To.Email, g.HeaderTo, g.Language, n.To.Email, n.To.Lang)
		}
		if !strings.Contains(g.Body, caseName) {
			w.t.Errorf("%s mail to %s does not name the case %q:\n%s", n.Type, n.To.Email, caseName, g.Body)
		}
		if n.Reason != "" && !strings.Contains(g.Body, n.Reason) {
			w.t.Errorf("%s mail to %s does not carry the reason %q:\n%s", n.Type, n.To.Email, n.Reason, g.Body)
		}
	}
	if len(got) != 0 {
		w.t.Errorf("unexpected mails: %v", subjects(got))
	}
}

func subjects(ms []mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.To+": "+m.Subject)
	}
	return out
}

// postgresStore opens storage/postgres in a fresh schema named prefix plus
// random hex, dropped (with the store closed) when t ends. It skips, or
// fails under CI, without KEIYAKU_POSTGRES_DSN.
func postgresStore(t *testing.T, prefix string) *postgres.Store {
	t.Helper()
	dsn := testenv.Env(t, "KEIYAKU_POSTGRES_DSN", "a PostgreSQL connection string for a database the tests may create schemas in")
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Error(err)
		}
	})
	st, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
