package keiyaku_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
	"github.com/keiyaku/keiyaku/timestamp"
)

func TestOpenRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	pki := testpki.New(t)
	for _, tc := range []struct {
		name string
		cfg  keiyaku.Config
	}{
		{"zero", keiyaku.Config{}},
		{"two TSAs", keiyaku.Config{Dir: dir, TSA: keiyaku.TSAConfig{URL: "http://tsa.example/", Timestamper: tsaTimestamper(t, pki)}}},
		{"TSA signer without certificate", keiyaku.Config{Dir: dir, TSA: keiyaku.TSAConfig{Signer: pki.TSA.Key}}},
		{"TSA URL not http", keiyaku.Config{Dir: dir, TSA: keiyaku.TSAConfig{URL: "ftp://tsa.example/"}}},
		{"TSA certificate not for timestamping", keiyaku.Config{Dir: dir, TSA: keiyaku.TSAConfig{Signer: pki.RSA.Key, Certificate: pki.RSA.Cert}}},
		{"nil trust anchor", keiyaku.Config{Dir: dir, TrustAnchors: []*x509.Certificate{nil}}},
		{"unknown revocation policy", keiyaku.Config{Dir: dir, Revocation: "sometimes"}},
		{"SMTP without sender", keiyaku.Config{Dir: dir, SMTP: notify.SMTPConfig{Host: "127.0.0.1"}}},
		{"SQLite under a directory with #", keiyaku.Config{Dir: filepath.Join(dir, "a#b")}},
		{"negative interval", keiyaku.Config{Dir: dir, NotifyInterval: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.PasswordParams = fastParams
			svc, err := keiyaku.Open(context.Background(), tc.cfg)
			if err == nil {
				svc.Close()
			}
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("Open = %v, want kerr.Invalid", err)
			}
		})
	}
}

// TestNoMailer: without SMTP the notices wait in the outbox, and asking to
// deliver them says why it cannot.
func TestNoMailer(t *testing.T) {
	w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) { cfg.SMTP = notify.SMTPConfig{} })
	a, b := w.m["A"], w.m["B"]
	w.register(a, b, "no mailer")
	if _, _, err := w.svc.DeliverOnce(w.ctx); !errors.Is(err, kerr.FailedPrecondition) || !errors.Is(err, keiyaku.ErrNoMailer) {
		t.Errorf("DeliverOnce = %v, want kerr.FailedPrecondition wrapping ErrNoMailer", err)
	}
	if err := w.svc.RunNotifier(w.ctx); !errors.Is(err, keiyaku.ErrNoMailer) {
		t.Errorf("RunNotifier = %v, want ErrNoMailer", err)
	}
	due, err := w.svc.Store.DueEvents(w.ctx, today(), 10)
	if err != nil || len(due) != 1 || due[0].Type != casework.NoticeReceiptRequested || due[0].RecipientEmail != b.Email || due[0].Language != "en" {
		t.Errorf("outbox = %+v, %v; want one receipt request to %s in en", due, err, b.Email)
	}
}

// TestReplacedCollaborators runs a case to completion on a Store and Blobs
// the embedder opened itself and a remote RFC 3161 TSA over HTTP, without
// a data directory; Close leaves the embedder's Store open.
func TestReplacedCollaborators(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "own.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.ToSlash(t.TempDir())+"?metadata=skip")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })

	w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) {
		authority, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
			Signer: w.pki.TSA2.Key, Certificate: w.pki.TSA2.Cert, Chain: []*x509.Certificate{w.pki.Intermediate.Cert},
			Policy: testpki.PolicyOID, Clock: fixedClock, Serials: timestamp.NewMemorySerialStore(0),
		})
		if err != nil {
			t.Fatal(err)
		}
		tsa := httptest.NewServer(authority)
		t.Cleanup(tsa.Close)
		cfg.Dir = ""
		cfg.Store, cfg.Blobs = store, blobs
		cfg.TSA = keiyaku.TSAConfig{URL: tsa.URL}
	})
	if w.svc.TSACertificate != nil {
		t.Error("TSACertificate is set for a remote TSA")
	}
	a, b := w.m["A"], w.m["B"]
	c := w.complete(w.register(a, b, "remote TSA"), a, b)
	checkOriginal(t, w, a, c.ID, 2)
	oc, err := w.svc.VerifyOriginal(w.ctx, a.P, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := oc.PDFs[0].Verdict.TSA, w.pki.TSA2.Cert.Subject.String(); got != want {
		t.Errorf("sealed by %q, want the remote TSA %q", got, want)
	}
	if err := w.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetCase(ctx, c.ID); err != nil {
		t.Errorf("the embedder's store after Service.Close: %v", err)
	}
}

// register registers a signed bilateral case from a to b and delivers the
// notice.
func (w *world) register(a, b *member, name string) *casework.Case {
	w.t.Helper()
	c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
		Form: casework.FormBilateral, Name: name, Amount: casework.Money{Amount: 1, Currency: "JPY"},
		TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b)},
		Document: upload("c.pdf", w.sign(a, contract(name))),
	})
	if err != nil {
		w.t.Fatalf("Register: %v", err)
	}
	return c
}

// complete has b receive and countersign c, and a complete it.
func (w *world) complete(c *casework.Case, a, b *member) *casework.Case {
	w.t.Helper()
	got := w.receive(b, c.ID)
	c, err := w.svc.Cases.Return(w.ctx, b.P, c.ID, upload("c.pdf", w.sign(b, got)))
	if err != nil {
		w.t.Fatalf("Return: %v", err)
	}
	if c, err = w.svc.Cases.Complete(w.ctx, a.P, c.ID); err != nil {
		w.t.Fatalf("Complete: %v", err)
	}
	return c
}

func tsaTimestamper(t *testing.T, pki *testpki.PKI) signature.Timestamper {
	t.Helper()
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: pki.TSA.Key, Certificate: pki.TSA.Cert, Policy: testpki.PolicyOID, Clock: fixedClock,
		Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return signature.AuthorityTimestamper(a)
}

// TestRunNotifier: the notifier delivers notices as they are written and
// stops when its context ends.
func TestRunNotifier(t *testing.T) {
	w := newWorldWith(t, func(_ *world, cfg *keiyaku.Config) { cfg.NotifyInterval = 10 * time.Millisecond })
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- w.svc.RunNotifier(ctx) }()
	w.register(w.m["A"], w.m["B"], "run notifier")
	deadline := time.Now().Add(10 * time.Second)
	var got []rawMail
	for len(got) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		got = w.smtp.take()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunNotifier = %v, want context.Canceled", err)
	}
	if len(got) != 1 || decodeMail(t, got[0]).To != w.m["B"].Email {
		t.Fatalf("mails = %d, want the receipt request to B", len(got))
	}
}

// TestTSAKeyIsNoSigner: the development TSA's certificate is trusted for
// timestamps when verifying originals, but a contract signed with its key
// is refused at upload: uploads trust Config.TrustAnchors alone.
func TestTSAKeyIsNoSigner(t *testing.T) {
	w := newWorld(t)
	b, err := os.ReadFile(filepath.Join(w.dir, "tsa", "tsa-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM in the TSA key file")
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tsa := &member{Key: "T", Name: "TSA", Cert: &testpki.Cert{Name: "tsa", Key: key.(crypto.Signer), Cert: w.svc.TSACertificate}}
	_, err = w.svc.Cases.Register(w.ctx, w.m["A"].P, &casework.NewCase{
		Form: casework.FormBilateral, Name: "signed by the TSA key", Amount: casework.Money{Amount: 1, Currency: "JPY"},
		TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(w.m["B"])},
		Document: upload("c.pdf", w.sign(tsa, contract("x"))),
	})
	if !errors.Is(err, kerr.Invalid) {
		t.Fatalf("Register = %v, want kerr.Invalid", err)
	}
}
