package account_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// fast keeps tests quick; production uses DefaultParams.
var fast = account.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newService(t *testing.T) (*account.Service, *sqlite.Store, *clock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	svc, err := account.New(account.Config{Store: st, Clock: clk.now, Params: fast, MaxFailures: 3, Lockout: 10 * time.Minute, SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st, clk
}

// onboard creates a company whose administrator has changed its password
// to "violet harbor lantern 42", and returns its logged-in principal.
func onboard(t *testing.T, svc *account.Service, login string) account.Principal {
	t.Helper()
	ctx := context.Background()
	_, admin, pw, err := svc.CreateCompany(ctx, "株式会社"+login, account.NewUser{LoginID: login, Profile: storage.Profile{Name: "管理 者"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !admin.Admin || !admin.MustChangePassword {
		t.Fatalf("first user = %+v", admin)
	}
	ss, err := svc.Login(ctx, login, pw, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangePassword(ctx, ss.Token, pw, "violet harbor lantern 42", ""); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, ss.Token, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInitialPasswordMustBeChanged(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	admin := onboard(t, svc, "admin")
	u, pw, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: "taro", Profile: storage.Profile{Name: "山田 太郎", Furigana: "やまだ たろう", Email: "taro@example.jp"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) != 16 {
		t.Errorf("initial password %q", pw)
	}
	ss, err := svc.Login(ctx, "taro", pw, "")
	if err != nil {
		t.Fatal(err)
	}
	if !ss.MustChangePassword {
		t.Error("first login does not ask for a password change")
	}
	if _, err := svc.Authenticate(ctx, ss.Token, ""); !errors.Is(err, account.ErrPasswordChangeRequired) || !errors.Is(err, kerr.FailedPrecondition) {
		t.Errorf("Authenticate before change: err = %v", err)
	}
	tests := []struct {
		name     string
		old, new string
		want     error
	}{
		{"wrong old", "nope-nope-nope", "quiet river stone 19", account.ErrBadCredentials},
		{"too short", pw, "short", account.ErrPasswordLength},
		{"common", pw, "Password123!", account.ErrPasswordCommon},
		{"made of the login ID", pw, "taro.taro.taro1", account.ErrPasswordPersonal},
		{"sequential", pw, "abcdefghijklmnop", account.ErrPasswordPattern},
		{"same as old", pw, pw, kerr.Invalid},
		{"too long", pw, strings.Repeat("x", account.MaxPasswordLen+1), kerr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := svc.ChangePassword(ctx, ss.Token, tt.old, tt.new, ""); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if err := svc.ChangePassword(ctx, ss.Token, pw, "maple orbit cascade 7", ""); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, ss.Token, "203.0.113.5")
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != u.ID || p.CompanyID != admin.CompanyID || p.Admin || p.RemoteAddr != "203.0.113.5" {
		t.Errorf("principal = %+v", p)
	}
	if _, err := svc.Login(ctx, "taro", pw, ""); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("old password still works: %v", err)
	}
	if _, err := svc.Login(ctx, "taro", "maple orbit cascade 7", ""); err != nil {
		t.Errorf("new password refused: %v", err)
	}
}

func TestSessionsExpireAndLogout(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	onboard(t, svc, "admin")
	ss, err := svc.Login(ctx, "admin", "violet harbor lantern 42", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, ss.Token, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, ss.Token+"x", ""); !errors.Is(err, account.ErrSessionExpired) {
		t.Errorf("forged token: err = %v", err)
	}
	clk.add(time.Hour)
	if _, err := svc.Authenticate(ctx, ss.Token, ""); !errors.Is(err, account.ErrSessionExpired) || !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("expired session: err = %v", err)
	}
	ss, err = svc.Login(ctx, "admin", "violet harbor lantern 42", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(ctx, ss.Token, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, ss.Token, ""); !errors.Is(err, account.ErrSessionExpired) {
		t.Errorf("after logout: err = %v", err)
	}
	if err := svc.Logout(ctx, ss.Token, ""); !errors.Is(err, kerr.Unauthenticated) {
		t.Errorf("second logout: err = %v", err)
	}
}

func TestProfileAndCompanyName(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	admin := onboard(t, svc, "admin")
	other := onboard(t, svc, "other")
	u, _, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: "hanako"})
	if err != nil {
		t.Fatal(err)
	}
	user := account.Principal{UserID: u.ID, CompanyID: admin.CompanyID}
	prof := storage.Profile{Name: "佐藤 花子", Furigana: "さとう はなこ", Department: "法務部", Title: "課長", Phone: "03-0000-0000",
		Fax: "03-0000-0001", Email: "hanako@example.jp", Address: "東京都千代田区1-1", Language: "en"}
	got, err := svc.UpdateProfile(ctx, user, u.ID, prof)
	if err != nil || got.Profile != prof {
		t.Fatalf("own profile: %v %+v", err, got)
	}
	tests := []struct {
		name string
		p    account.Principal
		id   string
		prof storage.Profile
		want kerr.Kind
	}{
		{"admin edits a user", admin, u.ID, prof, 0},
		{"user edits the admin", user, admin.UserID, prof, kerr.NotFound},
		{"other company's admin", other, u.ID, prof, kerr.NotFound},
		{"bad e-mail", user, u.ID, storage.Profile{Email: "Hanako <hanako@example.jp>"}, kerr.Invalid},
		{"bad language", user, u.ID, storage.Profile{Language: "fr"}, kerr.Invalid},
		{"long field", user, u.ID, storage.Profile{Address: strings.Repeat("丁", account.MaxProfileLen+1)}, kerr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.UpdateProfile(ctx, tt.p, tt.id, tt.prof)
			if tt.want == 0 && err != nil || tt.want != 0 && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := svc.RenameCompany(ctx, user, "乗っ取り"); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("non-admin rename: err = %v", err)
	}
	if _, _, err := svc.CreateUser(ctx, user, account.NewUser{LoginID: "sneaky"}); !errors.Is(err, kerr.PermissionDenied) {
		t.Errorf("non-admin CreateUser: err = %v", err)
	}
	if _, _, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: "hanako"}); !errors.Is(err, kerr.Conflict) {
		t.Errorf("taken login: err = %v", err)
	}
	if _, _, err := svc.CreateUser(ctx, admin, account.NewUser{LoginID: "a b"}); !errors.Is(err, kerr.Invalid) {
		t.Errorf("bad login ID: err = %v", err)
	}
	if _, err := svc.RenameCompany(ctx, admin, "株式会社ケイヤク"); !errors.Is(err, kerr.FailedPrecondition) {
		t.Fatalf("admin rename: err = %v, want FailedPrecondition (names change by request only)", err)
	}
	stored, _ := st.GetCompany(ctx, admin.CompanyID)
	if stored.Name == "株式会社ケイヤク" {
		t.Errorf("RenameCompany changed the name to %q", stored.Name)
	}
}
