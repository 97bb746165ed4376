package notify_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testSMTP is a real SMTP server (github.com/emersion/go-smtp) listening on
// 127.0.0.1 in the test process. It records what it accepts and can be told
// to refuse in the ways real servers do.
type testSMTP struct {
	Host string
	Port int

	mu         sync.Mutex
	mails      []capturedMail
	dataCalls  int
	failData   int         // reply 451 to this many DATA transactions first
	rejectRcpt bool        // reply 550 to RCPT TO
	user, pass string      // require AUTH PLAIN with these when set
	stall      chan string // when set, Data reports here and blocks until release is closed
	release    chan struct{}
}

type capturedMail struct {
	From string
	To   []string
	Data []byte
}

type smtpOptions struct {
	tls        *tls.Config
	user, pass string
}

func startSMTP(t *testing.T, opts smtpOptions) *testSMTP {
	t.Helper()
	s := &testSMTP{user: opts.user, pass: opts.pass, release: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		sess := &session{srv: s}
		if s.user != "" {
			return &authSession{session: sess}, nil
		}
		return sess, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = opts.tls
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
	// Registered after Close so that it runs first: unblock stalled sessions.
	t.Cleanup(func() { close(s.release) })
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = addr.IP.String(), addr.Port
	return s
}

func (s *testSMTP) Mails() []capturedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]capturedMail(nil), s.mails...)
}

func (s *testSMTP) DataCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataCalls
}

type session struct {
	srv    *testSMTP
	authed bool
	from   string
	to     []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.user != "" && !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.srv.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.srv
	s.mu.Lock()
	s.dataCalls++
	fail := s.dataCalls <= s.failData
	stall := s.stall
	s.mu.Unlock()
	if stall != nil {
		stall <- ss.from
		<-s.release
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "too late"}
	}
	if fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	s.mu.Lock()
	s.mails = append(s.mails, capturedMail{From: ss.from, To: ss.to, Data: data})
	s.mu.Unlock()
	return nil
}

type authSession struct{ *session }

func (as *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (as *authSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, errors.New("unsupported mechanism")
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != as.srv.user || pass != as.srv.pass {
			return errors.New("invalid credentials")
		}
		as.authed = true
		return nil
	}), nil
}

// parsedMail is a captured mail with its headers and body decoded.
type parsedMail struct {
	Header      netmail.Header
	From        *netmail.Address
	To          []*netmail.Address
	Subject     string
	ContentType string
	Encoding    string // Content-Transfer-Encoding, lower case
	Body        string
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("captured mail does not parse: %v\n%s", err, data)
	}
	var p parsedMail
	p.Header = msg.Header
	if p.From, err = netmail.ParseAddress(msg.Header.Get("From")); err != nil {
		t.Fatalf("From: %v", err)
	}
	if p.To, err = msg.Header.AddressList("To"); err != nil {
		t.Fatalf("To: %v", err)
	}
	raw := msg.Header.Get("Subject")
	for _, r := range raw {
		if r > 0x7e {
			t.Fatalf("Subject header is not 7-bit ASCII (RFC 2047 encoding missing): %q", raw)
		}
	}
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(raw); err != nil {
		t.Fatalf("Subject %q: %v", raw, err)
	}
	p.ContentType = msg.Header.Get("Content-Type")
	var body io.Reader = msg.Body
	p.Encoding = strings.ToLower(msg.Header.Get("Content-Transfer-Encoding"))
	switch cte := p.Encoding; cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(msg.Body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, msg.Body) // skips line breaks
	case "", "7bit", "8bit":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	p.Body = strings.ReplaceAll(string(b), "\r\n", "\n")
	return p
}

// selfSignedTLS returns a server config with a fresh certificate for
// 127.0.0.1 and a client config that trusts exactly that certificate.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}
