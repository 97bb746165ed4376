package keiyaku_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Open on the embedded default: one directory holds the database, the
// blobs and the development TSA.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "keiyaku-example-*")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	svc, err := keiyaku.Open(ctx, keiyaku.Config{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer svc.Close()

	co, admin, _, err := svc.Accounts.CreateCompany(ctx, "株式会社エー商事", account.NewUser{
		LoginID: "admin-a", Profile: storage.Profile{Name: "山田 太郎", Email: "yamada@a.example", Language: "ja"},
	}, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(co.Name, admin.LoginID, admin.MustChangePassword)
	fmt.Println("TSA:", svc.TSACertificate.Subject.CommonName)
	_, _, err = svc.DeliverOnce(ctx)
	fmt.Println(errors.Is(err, keiyaku.ErrNoMailer), errors.Is(err, kerr.FailedPrecondition))
	// Output:
	// 株式会社エー商事 admin-a true
	// TSA: keiyaku development TSA
	// true true
}

// The default Validator passes an unsigned PDF (it has nothing to fail)
// and says why it refuses a file that is not a PDF.
func ExampleNewValidator() {
	val := keiyaku.NewValidator(nil)
	for _, file := range [][]byte{pdftest.OnePage("BT ET").Bytes(), []byte("not a PDF")} {
		v, err := val.Validate(context.Background(), bytes.NewReader(file), int64(len(file)), &casework.ValidateOptions{})
		if err != nil {
			panic(err)
		}
		fmt.Println(v.Passed, v.Signatures, len(v.Reasons) > 0)
	}
	// Output:
	// true 0 false
	// false 0 true
}
