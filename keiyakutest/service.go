package keiyakutest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/storage"
)

// Options adjust NewService; nil means the defaults.
type Options struct {
	// Clock is the Service's clock; nil means Now, fixed.
	Clock func() time.Time
	// Configure, when not nil, may change the Config before Open (e.g.
	// set Store to a PostgreSQL store, or SMTP).
	Configure func(cfg *keiyaku.Config)
}

// Env is a ready keiyaku.Service on a temporary directory (SQLite, file
// blobs, the development TSA) that trusts PKI's root, fetches
// revocation data online from PKI's responders, and is closed when the
// test ends. Its methods add companies and people to it.
type Env struct {
	*keiyaku.Service
	PKI *PKI
	// Dir is the Service's data directory.
	Dir string

	mu sync.Mutex
	n  int
}

// NewService opens a Service for tb's test.
func NewService(tb TB, opts *Options) *Env {
	tb.Helper()
	if opts == nil {
		opts = &Options{}
	}
	e := &Env{PKI: NewPKI(tb), Dir: tb.TempDir()}
	clock := opts.Clock
	if clock == nil {
		clock = func() time.Time { return Now }
	}
	cfg := keiyaku.Config{
		Dir:           e.Dir,
		TrustAnchors:  []*x509.Certificate{e.PKI.Root},
		Intermediates: []*x509.Certificate{e.PKI.Intermediate},
		Online:        true,
		// Cheap password hashing: the parameters are checked and stored
		// like real ones.
		PasswordParams: account.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16},
		Clock:          clock,
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	svc, err := keiyaku.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("keiyakutest.NewService: %v", err)
	}
	tb.Cleanup(func() {
		if err := svc.Close(); err != nil {
			tb.Errorf("keiyakutest: closing the Service: %v", err)
		}
	})
	e.Service = svc
	return e
}

// Company is a company registered with the Service.
type Company struct {
	ID, Name string
	// Admin is its first administrator, logged in.
	Admin *Person
}

// Person is a user of a company, logged in, with a signer certificate
// of their own issued by the Env's PKI.
type Person struct {
	Company *Company
	// Principal is what every casework call acts as (account.Principal
	// from a real login: Login, ChangePassword, Authenticate).
	Principal account.Principal
	LoginID   string
	Password  string
	Signer    *Signer
}

// Party returns p as the counterparty of a case (casework.NewCase.Parties).
func (p *Person) Party() casework.Party {
	return casework.Party{CompanyID: p.Company.ID, CompanyName: p.Company.Name, UserID: p.Principal.UserID}
}

// Sign returns pdf with p's signature added (Signer.Sign).
func (p *Person) Sign(tb TB, pdf []byte) []byte {
	tb.Helper()
	return p.Signer.Sign(tb, pdf)
}

// NewCompany creates a company and its first administrator, named
// adminName, logged in with a changed password and a signer certificate
// registered to the company.
func (e *Env) NewCompany(tb TB, name, adminName string) *Company {
	tb.Helper()
	ctx := context.Background()
	login := e.nextLogin("admin")
	co, _, initial, err := e.Accounts.CreateCompany(ctx, name, account.NewUser{
		LoginID: login, Profile: storage.Profile{Name: adminName, Email: login + "@example.jp", Language: "ja"},
	}, "127.0.0.1")
	if err != nil {
		tb.Fatalf("keiyakutest.NewCompany %q: %v", name, err)
	}
	c := &Company{ID: co.ID, Name: name}
	c.Admin = e.login(tb, c, login, initial, adminName)
	return c
}

// NewUser adds an ordinary user (not an administrator) named name to c,
// created by c's administrator, logged in, with a signer certificate
// that the administrator registered to the company.
func (e *Env) NewUser(tb TB, c *Company, name string) *Person {
	tb.Helper()
	login := e.nextLogin("user")
	_, initial, err := e.Accounts.CreateUser(context.Background(), c.Admin.Principal, account.NewUser{
		LoginID: login, Profile: storage.Profile{Name: name, Email: login + "@example.jp", Language: "ja"},
	})
	if err != nil {
		tb.Fatalf("keiyakutest.NewUser %q: %v", name, err)
	}
	return e.login(tb, c, login, initial, name)
}

func (e *Env) nextLogin(kind string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	return fmt.Sprintf("%s-%d", kind, e.n)
}

// login takes a new account through its first login: the initial
// password is changed, as the service demands, and the session
// authenticated.
func (e *Env) login(tb TB, c *Company, login, initial, name string) *Person {
	tb.Helper()
	ctx := context.Background()
	// A random password: the account policy refuses guessable ones, and
	// one made of the login ID.
	password := "kt-" + rand.Text()
	sess, err := e.Accounts.Login(ctx, login, initial, "127.0.0.1")
	if err != nil {
		tb.Fatalf("keiyakutest: first login of %s: %v", login, err)
	}
	if err := e.Accounts.ChangePassword(ctx, sess.Token, initial, password, "127.0.0.1"); err != nil {
		tb.Fatalf("keiyakutest: changing the initial password of %s: %v", login, err)
	}
	if sess, err = e.Accounts.Login(ctx, login, password, "127.0.0.1"); err != nil {
		tb.Fatalf("keiyakutest: login of %s: %v", login, err)
	}
	p, err := e.Accounts.Authenticate(ctx, sess.Token, "127.0.0.1")
	if err != nil {
		tb.Fatalf("keiyakutest: authenticating %s: %v", login, err)
	}
	person := &Person{Company: c, Principal: p, LoginID: login, Password: password, Signer: e.PKI.NewSigner(tb, c.Name, name)}
	// The company's administrator registers the person's signing
	// certificate, as the service demands before any signature counts.
	admin := p
	if c.Admin != nil {
		admin = c.Admin.Principal
	}
	if _, err := e.Accounts.RegisterSignerCertificate(ctx, admin, person.Signer.Certificate); err != nil {
		tb.Fatalf("keiyakutest: registering the signing certificate of %s: %v", login, err)
	}
	return person
}
