package account_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// A company administrator asks for a new company name; the directory
// keeps the old one until the service operator approves.
func ExampleService_ApproveNameChange() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "keiyaku-example-")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "k.db")})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	svc, _ := account.New(account.Config{Store: st, Params: fast})

	// First start: the operator; then a customer company.
	login := func(id, initial string) account.Principal {
		ss, _ := svc.Login(ctx, id, initial, "")
		_ = svc.ChangePassword(ctx, ss.Token, initial, "sapphire orchard 1987", "")
		ss, _ = svc.Login(ctx, id, "sapphire orchard 1987", "")
		p, _ := svc.Authenticate(ctx, ss.Token, "")
		return p
	}
	_, pw, _ := svc.CreateOperator(ctx, account.NewUser{LoginID: "operator"}, "")
	op := login("operator", pw)
	co, _, pw, _ := svc.CreateCompanyAs(ctx, op, "株式会社旧商号", account.NewUser{LoginID: "acme-admin"})
	admin := login("acme-admin", pw)

	r, _ := svc.RequestNameChange(ctx, admin, "株式会社新商号", "吸収合併による商号変更")
	now, _ := st.GetCompany(ctx, co.ID)
	fmt.Println(r.Status, now.Name)
	r, after, err := svc.ApproveNameChange(ctx, op, r.ID, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Status, after.Name)
	// Output:
	// pending 株式会社旧商号
	// approved 株式会社新商号
}
