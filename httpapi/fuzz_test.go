package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/httpapi"
)

// FuzzRequestDecoders sends arbitrary bodies, content types and languages
// to the operations that decode request bodies (login JSON, the
// registration and return multipart bodies, the stateless verify, the
// signing-certificate registrations, bulk verification, webhook subscriptions) and
// requires an answer that is never a 5xx, and for a refusal a problem
// document; nothing may be stored from it.
func FuzzRequestDecoders(f *testing.F) {
	e := newEnv(f)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	api, err := httpapi.New(httpapi.Config{Service: e.svc})
	if err != nil {
		f.Fatal(err)
	}
	ct, body := multipartBody(f, part{name: "case", ctype: "application/json", body: []byte(`{"form":"bilateral","name":"x","transaction_date":"2026-01-01","amount":{"amount":"1","currency":"JPY"},"parties":[],"supplements":[{"name":"a"}]}`)},
		part{name: "contract", file: "../c.pdf", body: contract("x")})
	f.Add(uint8(1), ct, body.Bytes(), "ja")
	f.Add(uint8(0), "application/json", []byte(`{"login_id":"admin-a","password":"x"}`), "en;q=0.1, ja;q=0.9")
	f.Add(uint8(2), ct, body.Bytes(), "")
	f.Add(uint8(3), "application/pdf", contract("y"), "*")
	f.Add(uint8(4), "application/json", []byte(`{"certificate":"`+strings.ReplaceAll(pemOf(e.pki.RSA), "\n", `\n`)+`"}`), "")
	f.Add(uint8(5), "application/json", []byte(`{"ca_certificate":"MIIB","organization":"株式会社エー商事","corporate_number":"9234567890123"}`), "")
	f.Add(uint8(6), "application/json", []byte(`{"completed_from":"2026-01-01","completed_to":"2026-12-31"}`), "")
	f.Add(uint8(7), "application/json", []byte(`{"url":"https://hooks.example.jp/in","events":["completed"],"description":"基幹"}`), "")
	f.Fuzz(func(t *testing.T, op uint8, ctype string, b []byte, lang string) {
		paths := []string{"/v1/sessions", "/v1/cases", "/v1/cases/x/returns", "/v1/verify",
			"/v1/company/signing-certificates", "/v1/company/signing-issuers", "/v1/bulk-verifications", "/v1/webhooks"}
		req := httptest.NewRequest("POST", paths[int(op)%len(paths)], bytes.NewReader(b))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept-Language", lang)
		req.Header.Set("Authorization", "Bearer "+a.token)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s → %d %s", req.URL.Path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Fatalf("refusal %d is not a problem document: %s", rec.Code, rec.Body)
		}
		if rec.Code == http.StatusCreated && req.URL.Path == "/v1/cases" {
			t.Fatalf("a fuzzed body registered a case: %s", rec.Body)
		}
	})
}
