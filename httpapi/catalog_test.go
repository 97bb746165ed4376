package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/keiyaku/keiyaku/httpapi"
)

func acceptLanguage(v string) httpapi.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Accept-Language", v)
		return nil
	}
}

// TestRefusalInTheUsersLanguage: a refusal with a message code is
// answered with its own words in the problem detail, once, in Japanese or
// English by Accept-Language (issue 9): an empty upload says the upload
// is empty, not that its signatures did not pass validation.
func TestRefusalInTheUsersLanguage(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	b := e.newUser("B", "Bee Trading Ltd.", e.pki.RSA)
	nc := httpapi.NewCase{Form: httpapi.FormBilateral, Name: "空", TransactionDate: openapi_types.Date{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		Amount: httpapi.Money{Amount: "1", Currency: "JPY"}, Parties: []httpapi.NewParty{{CompanyId: b.p.CompanyID, UserId: b.p.UserID}}}
	for _, tt := range []struct{ accept, lang, want string }{
		{"ja,en;q=0.5", "ja", "アップロードされた 契約書.pdf は空です。ファイルを選び直してアップロードしてください。"},
		{"en-GB", "en", "the upload 契約書.pdf is empty: choose the file again and upload it"},
	} {
		ct, body := multipartBody(t, jsonPart(t, nc), part{name: "contract", file: "契約書.pdf", ctype: "application/pdf", body: nil})
		res, err := a.c.RegisterCaseWithBodyWithResponse(e.ctx, nil, ct, body, acceptLanguage(tt.accept))
		if err != nil {
			t.Fatal(err)
		}
		p := res.ApplicationproblemJSONDefault
		if res.StatusCode() != 400 || p == nil || p.Type != httpapi.ProblemBase+"invalid" || p.Detail == nil {
			t.Fatalf("%s: %d %s", tt.accept, res.StatusCode(), res.Body)
		}
		if *p.Detail != tt.want || p.Errors != nil || res.HTTPResponse.Header.Get("Content-Language") != tt.lang {
			t.Errorf("%s: detail %q errors %v, Content-Language %q; want %q once", tt.accept, *p.Detail, p.Errors, res.HTTPResponse.Header.Get("Content-Language"), tt.want)
		}
	}

	// The password policy's refusal points at the field, in Japanese.
	r, err := a.c.ChangePasswordWithResponse(e.ctx, httpapi.PasswordChange{OldPassword: a.password, NewPassword: "password1234"}, acceptLanguage("ja"))
	if err != nil {
		t.Fatal(err)
	}
	p := r.ApplicationproblemJSONDefault
	const weak = "新しいパスワードは推測されやすすぎます。別のパスワードにしてください（関係のない単語を並べた長めのフレーズが有効です）。"
	if r.StatusCode() != 400 || p == nil || p.Detail == nil || *p.Detail != weak || p.Errors == nil || (*p.Errors)[0].Pointer != "/new_password" || (*p.Errors)[0].Detail != weak {
		t.Errorf("weak password in ja: %d %s", r.StatusCode(), r.Body)
	}

	// A refusal without a code keeps the kind's generic text.
	res, err := a.c.GetCaseWithResponse(e.ctx, "nope", acceptLanguage("en"))
	if err != nil || res.ApplicationproblemJSONDefault == nil || *res.ApplicationproblemJSONDefault.Detail != "The thing named does not exist or you may not see it." {
		t.Errorf("not found: %v %s", err, res.Body)
	}
}

// TestVerifyReasonsInTheUsersLanguage: original verification's reasons
// come in Japanese by Accept-Language, in English otherwise.
func TestVerifyReasonsInTheUsersLanguage(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	doc := contract("unsigned")
	for _, tt := range []struct{ accept, want string }{
		{"ja", "このファイルには署名がありません"},
		{"en", "the file has no signature"},
		{"", "the file has no signature"},
	} {
		res, err := a.c.VerifyPDFWithBodyWithResponse(e.ctx, nil, "application/pdf", bytes.NewReader(doc), acceptLanguage(tt.accept))
		if err != nil || res.JSON200 == nil {
			t.Fatalf("%q: %v %s", tt.accept, err, res.Body)
		}
		if res.JSON200.Original || !slices.Contains(res.JSON200.Reasons, tt.want) {
			t.Errorf("%q: reasons %q, want %q among them", tt.accept, res.JSON200.Reasons, tt.want)
		}
	}
}
