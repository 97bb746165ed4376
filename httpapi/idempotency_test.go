package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/httpapi"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
)

// TestIdempotencyKeySQLite: the Idempotency-Key rules over the embedded
// SQLite store, with two API handlers over one service.
func TestIdempotencyKeySQLite(t *testing.T) {
	e1 := newEnv(t)
	api2, err := httpapi.New(httpapi.Config{Service: e1.svc})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(api2)
	t.Cleanup(srv2.Close)
	e2 := &env{t: t, ctx: e1.ctx, pki: e1.pki, svc: e1.svc, srv: srv2, router: e1.router, users: e1.users}
	testIdempotencyAcross(t, e1, e2)
}

// TestIdempotencyKeyPostgres: two services (two "processes", each with
// its own connection pool and API handler) over one PostgreSQL schema
// agree on every Idempotency-Key.
func TestIdempotencyKeyPostgres(t *testing.T) {
	dsn := testenv.Env(t, "KEIYAKU_POSTGRES_DSN", "a PostgreSQL connection string for a database the tests may create schemas in")
	schema := pgSchema(t, dsn)
	open := func() storage.Store {
		st, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	e1 := newEnvWith(t, nil, func(cfg *keiyaku.Config) { cfg.Store = open() })
	e2 := newEnvWith(t, e1.pki, func(cfg *keiyaku.Config) { cfg.Store = open() })
	testIdempotencyAcross(t, e1, e2)
}

// testIdempotencyAcross registers a case through e1 with a key, then
// repeats it through e2: the first answer again, one case stored;
// another body is 422; a key held by a request in flight (claimed in the
// store as a process serving it would) is 409, until its lease runs out.
func testIdempotencyAcross(t *testing.T, e1, e2 *env) {
	a := e1.newUser("A", "株式会社エー商事", e1.pki.ECDSAP256)
	b := e1.newUser("B", "Bee Trading Ltd.", e1.pki.RSA)
	nc := map[string]any{"form": "bilateral", "name": "idem", "transaction_date": "2026-01-01", "amount": map[string]string{"amount": "100", "currency": "JPY"},
		"parties": []map[string]string{{"company_id": b.p.CompanyID, "company_name": b.company, "user_id": b.p.UserID}}}
	ct, body := multipartBody(t, jsonPart(t, nc), part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: e1.sign(a, contract("idem"))})
	raw := body.Bytes()
	key := map[string]string{"Idempotency-Key": "order-4711"}

	s1, _, h1 := e1.raw("POST", "/v1/cases", a.token, ct, bytes.NewReader(raw), key)
	s2, _, h2 := e2.raw("POST", "/v1/cases", a.token, ct, bytes.NewReader(raw), key)
	if s1 != 201 || s2 != 201 || h1.Get("Location") == "" || h1.Get("Location") != h2.Get("Location") || h1.Get("ETag") != h2.Get("ETag") ||
		h1.Get("Idempotent-Replayed") != "" || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry through the other handler: %d %d\n%v\n%v", s1, s2, h1, h2)
	}
	if n := e1.caseCount(a); n != 1 {
		t.Fatalf("the retry stored %d cases", n)
	}
	other := bytes.Replace(raw, []byte(`"idem"`), []byte(`"mied"`), 1)
	if s, p, _ := e2.raw("POST", "/v1/cases", a.token, ct, bytes.NewReader(other), key); s != 422 || p == nil || p.Type != httpapi.ProblemBase+"idempotency-key-reused" {
		t.Fatalf("the same key with another body: %d %+v", s, p)
	}
	// Another caller may use the same key.
	cb, bodyB := multipartBody(t, jsonPart(t, map[string]any{"form": "bilateral", "name": "idem-b", "transaction_date": "2026-01-01",
		"amount":  map[string]string{"amount": "100", "currency": "JPY"},
		"parties": []map[string]string{{"company_id": a.p.CompanyID, "company_name": a.company, "user_id": a.p.UserID}}}),
		part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: e1.sign(b, contract("idem-b"))})
	if s, p, h := e2.raw("POST", "/v1/cases", b.token, cb, bodyB, key); s != 201 || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another caller's key: %d %+v", s, p)
	}
	n0 := e1.caseCount(a) // A sees B's case too

	// A request in flight elsewhere holds the key: 409, then, once its
	// lease ran out (the process died), the key is free again.
	now := e1.svc.Archive.Now()
	claim := &storage.IdempotencyRecord{Principal: a.p.UserID, Request: "POST /v1/cases", Key: "in-flight", CreatedAt: now, ExpiresAt: now.Add(httpapi.IdempotencyLease)}
	if live, err := e1.svc.Store.BeginIdempotent(e1.ctx, claim, now); err != nil || live != nil {
		t.Fatalf("claim: %+v %v", live, err)
	}
	ct2, body2 := multipartBody(t, jsonPart(t, map[string]any{"form": "bilateral", "name": "second", "transaction_date": "2026-01-01",
		"amount":  map[string]string{"amount": "100", "currency": "JPY"},
		"parties": []map[string]string{{"company_id": b.p.CompanyID, "company_name": b.company, "user_id": b.p.UserID}}}),
		part{name: "contract", file: "c.pdf", ctype: "application/pdf", body: e1.sign(a, contract("second"))})
	raw2 := body2.Bytes()
	inFlight := map[string]string{"Idempotency-Key": "in-flight"}
	if s, p, _ := e2.raw("POST", "/v1/cases", a.token, ct2, bytes.NewReader(raw2), inFlight); s != 409 || p == nil || p.Type != httpapi.ProblemBase+"idempotency-key-in-use" {
		t.Fatalf("a key in flight: %d %+v", s, p)
	}
	if n := e1.caseCount(a); n != n0 {
		t.Fatalf("a refused key stored a case: %d, want %d", n, n0)
	}
	for _, e := range []*env{e1, e2} {
		e.offset.Add(int64(httpapi.IdempotencyLease + time.Second))
	}
	if s, p, _ := e2.raw("POST", "/v1/cases", a.token, ct2, bytes.NewReader(raw2), inFlight); s != 201 {
		t.Fatalf("the key after its lease ran out: %d %+v", s, p)
	}
	if s, _, h := e1.raw("POST", "/v1/cases", a.token, ct2, bytes.NewReader(raw2), inFlight); s != 201 || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retaken key's answer: %d %v", s, h)
	}
	if n := e1.caseCount(a); n != n0+1 {
		t.Fatalf("%d cases stored, want %d", n, n0+1)
	}
	// A day after the first request its key is free again.
	for _, e := range []*env{e1, e2} {
		e.offset.Add(int64(httpapi.IdempotencyTTL))
	}
	// (The session has ended by then, so ask the store as the next
	// request would.)
	later := e2.svc.Archive.Now()
	again := &storage.IdempotencyRecord{Principal: a.p.UserID, Request: "POST /v1/cases", Key: "order-4711", CreatedAt: later, ExpiresAt: later.Add(httpapi.IdempotencyLease)}
	if live, err := e2.svc.Store.BeginIdempotent(e2.ctx, again, later); err != nil || live != nil {
		t.Fatalf("the key after a day: %+v %v; want it free", live, err)
	}
}

// pgSchema creates a fresh schema in dsn's database, dropped when the
// test ends.
func pgSchema(t *testing.T, dsn string) string {
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "kh_" + hex.EncodeToString(b[:])
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
	return schema
}

// TestIdempotencySecretsNotStored: a login repeated with its key gets the
// same session again, but the answer, which holds the session token, is
// never written to the database: the key stays free there.
func TestIdempotencySecretsNotStored(t *testing.T) {
	e := newEnv(t)
	a := e.newUser("A", "株式会社エー商事", e.pki.ECDSAP256)
	body := `{"login_id":"` + a.loginID + `","password":"` + a.password + `"}`
	key := map[string]string{"Idempotency-Key": "login-1"}
	s1, _, h1, b1 := e.rawBodyHeader("POST", "/v1/sessions", "", "application/json", body, key)
	s2, _, h2, b2 := e.rawBodyHeader("POST", "/v1/sessions", "", "application/json", body, key)
	if s1 != 201 || s2 != 201 || b1 != b2 || jsonField(t, b1, "token") == "" || h1["Idempotent-Replayed"] != nil || h2["Idempotent-Replayed"] == nil {
		t.Fatalf("repeated login: %d %d\n%s\n%s", s1, s2, b1, b2)
	}
	now := e.svc.Archive.Now()
	for _, principal := range []string{"anonymous 127.0.0.1", a.p.UserID} {
		claim := &storage.IdempotencyRecord{Principal: principal, Request: "POST /v1/sessions", Key: "login-1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if live, err := e.svc.Store.BeginIdempotent(e.ctx, claim, now); err != nil || live != nil {
			t.Errorf("the login's answer is in the database for %q: %+v %v", principal, live, err)
		}
	}
}
