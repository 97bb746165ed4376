package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
)

// proc is one server process of TestManyProcesses.
type proc struct {
	t      *testing.T
	bin    string
	args   []string
	cmd    *exec.Cmd
	addr   atomic.Value // host:port it listens on; "" while down
	stderr *lockedBuffer
	out    chan string // its standard output lines
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the process and waits until it listens; it returns the lines
// printed before "listening on".
func (p *proc) start() []string {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var before []string
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				p.t.Fatalf("server exited before listening: %s", p.stderr.String())
			}
			if v, ok := strings.CutPrefix(line, "listening on http://"); ok {
				p.addr.Store(v)
				go func() {
					for range lines {
					}
				}()
				return before
			}
			before = append(before, line)
		case <-deadline:
			p.t.Fatal("no 'listening on' within two minutes")
		}
	}
}

// kill sends SIGKILL and waits for the process to die.
func (p *proc) kill() {
	p.addr.Store("")
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() error {
	p.addr.Store("")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		return errors.New("no exit within a minute of SIGTERM")
	}
}

// roundRobin is the load balancer of TestManyProcesses: each request goes
// to the next process; a process that refuses the connection (down) is
// skipped, so the request goes to the next one. A request cut off after
// it reached a process (killed in the middle) answers 502, as a real load
// balancer would.
type roundRobin struct {
	procs []*proc
	next  atomic.Uint64
	tr    *http.Transport
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start := rr.next.Add(1)
	for i := range uint64(len(rr.procs)) {
		addr, _ := rr.procs[(start+i)%uint64(len(rr.procs))].addr.Load().(string)
		if addr == "" {
			continue
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := rr.tr.RoundTrip(req)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" {
			continue // down: not sent
		}
		if err != nil {
			http.Error(w, "backend: "+err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no backend up", http.StatusBadGateway)
}

// TestManyProcesses runs three server processes on one PostgreSQL schema
// (KEIYAKU_POSTGRES_DSN) and one S3 prefix (KEIYAKU_S3_URL), mailing
// through mailpit (KEIYAKU_SMTP_ADDR, KEIYAKU_MAILPIT_API), behind a
// round-robin proxy, so that consecutive requests of one lifecycle (with
// one session token) land on different processes. Two companies run
// lifecycles towards each other and search, concurrently, for a bounded
// time; one process is killed with SIGKILL in the middle and started
// again. Afterwards: every case is in a state a lifecycle reaches, and
// every completed one verifies as original; every notice delivered is in
// mailpit exactly once, and a notice not delivered is held by the lease
// of the killed process's claim; each periodic job ran once per leader
// (not once per process); after the orphan collection every object in the
// bucket is referenced; the audit chain verifies.
func TestManyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three server processes")
	}
	dsn := testenv.Env(t, "KEIYAKU_POSTGRES_DSN", "a PostgreSQL connection string for a database the tests may create schemas in")
	s3url := testenv.Env(t, "KEIYAKU_S3_URL", "an S3 bucket URL (versitygw in .ci/run)")
	smtpAddr := testenv.Env(t, "KEIYAKU_SMTP_ADDR", "host:port of a mailpit SMTP listener")
	mailpit := strings.TrimRight(testenv.Env(t, "KEIYAKU_MAILPIT_API", "the base URL of that mailpit's HTTP API"), "/")
	ctx := context.Background()

	var nonce [5]byte
	rand.Read(nonce[:])
	run := hex.EncodeToString(nonce[:])
	schema := "mp_" + run
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(s3url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("prefix", "multiproc-"+run+"/")
	u.RawQuery = q.Encode()
	bucketURL := u.String()

	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	// One directory for the development TSA key and the demo CA, which
	// every process must share (the TSA's serials are random with a
	// database: unique without a shared counter).
	dir := t.TempDir()
	rr := &roundRobin{tr: &http.Transport{MaxIdleConnsPerHost: 16}}
	proxy := httptest.NewServer(rr)
	defer proxy.Close()
	// The login throttles are counted for the service, not per process:
	// every process keys them alike.
	loginKey := filepath.Join(dir, "login.key")
	if err := os.WriteFile(loginKey, []byte(rand.Text()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-addr", "127.0.0.1:0", "-dir", dir, "-log-level", "warn", "-login-key-file", loginKey,
		"-postgres", dsn, "-postgres-schema", schema, "-s3", bucketURL,
		"-smtp", smtpAddr, "-smtp-tls", "none", "-smtp-from", "keiyaku <no-reply@" + run + ".example>", "-base-url", proxy.URL}
	procs := make([]*proc, 3)
	for i := range procs {
		a := slices.Clone(args)
		if i == 0 {
			a = append(a, "-demo")
		}
		procs[i] = &proc{t: t, bin: bin, args: a, stderr: &lockedBuffer{}}
	}
	rr.procs = procs
	t.Cleanup(func() {
		for _, p := range procs {
			if p.cmd != nil && p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
		}
	})
	demo := map[string]demoLogin{}
	for _, line := range procs[0].start() {
		if m := demoRE.FindStringSubmatch(line); m != nil {
			demo[m[1]] = demoLogin{m[1], m[2], m[3], m[4], m[5], m[6], m[7]}
		}
	}
	if len(demo) != 2 {
		t.Fatalf("the first process printed %d demo users", len(demo))
	}
	procs[1].start()
	procs[2].start()

	c := &client{t: t, base: proxy.URL}
	a, b := demo["demo-a"], demo["demo-b"]
	ta, tb := c.login(a), c.login(b)

	// Lifecycles A->B and B->A, and searches, until the time is up; the
	// second process is killed half-way and started again.
	const runFor = 20 * time.Second
	stopAt := time.Now().Add(runFor)
	var mu sync.Mutex
	var cases []string
	completed, cut := 0, 0
	var wg sync.WaitGroup
	lifecycles := func(from, to demoLogin, tf, tt string) {
		defer wg.Done()
		for i := 0; time.Now().Before(stopAt); i++ {
			id, done, err := c.lifecycle(from, to, tf, tt, fmt.Sprintf("%s %s→%s %d", run, from.login, to.login, i))
			mu.Lock()
			if id != "" {
				cases = append(cases, id)
			}
			if done {
				completed++
			}
			if err != nil {
				cut++ // cut off by the kill: the case stays where it was
			}
			mu.Unlock()
			if _, err := c.do("GET", "/v1/cases?limit=20", tf, "", nil, 200); err != nil {
				mu.Lock()
				cut++
				mu.Unlock()
			}
		}
	}
	wg.Add(2)
	go lifecycles(a, b, ta, tb)
	go lifecycles(b, a, tb, ta)
	time.Sleep(runFor / 2)
	procs[1].kill()
	time.Sleep(time.Second)
	procs[1].start()
	wg.Wait()
	t.Logf("%d cases, %d completed, %d calls cut off by the kill", len(cases), completed, cut)
	if completed < 4 {
		t.Fatalf("only %d lifecycles completed in %v", completed, runFor)
	}

	// Every case in a state a lifecycle reaches; completed ones original,
	// checked through the proxy (any process).
	legal := map[string]bool{"sent": true, "received": true, "returned": true, "completed": true}
	for _, id := range cases {
		var got struct{ State string }
		body, err := c.do("GET", "/v1/cases/"+id, ta, "", nil, 200)
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(body, &got)
		if !legal[got.State] {
			t.Errorf("case %s is %q", id, got.State)
		}
		if got.State == "completed" {
			var v struct{ Original bool }
			body, err := c.do("GET", "/v1/cases/"+id+"/verification", tb, "", nil, 200)
			if err != nil {
				t.Fatal(err)
			}
			if json.Unmarshal(body, &v); !v.Original {
				t.Errorf("completed case %s is not original", id)
			}
		}
	}

	// Two processes racing on the same action (completing one returned
	// case, each request sent straight to a different process): exactly
	// one wins, the other is refused as a conflict.
	for i := range 4 {
		id, _, err := c.lifecycleTo(a, b, ta, tb, fmt.Sprintf("%s race %d", run, i), false)
		if err != nil {
			t.Fatal(err)
		}
		codes := make([]int, 2)
		etag, err := c.etag(id, ta)
		if err != nil {
			t.Fatal(err)
		}
		var rwg sync.WaitGroup
		for j, p := range []*proc{procs[0], procs[2]} {
			rwg.Go(func() {
				addr, _ := p.addr.Load().(string)
				req, _ := http.NewRequest("POST", "http://"+addr+"/v1/cases/"+id+"/completion", nil)
				req.Header.Set("Authorization", "Bearer "+ta)
				req.Header.Set("If-Match", etag) // both name the same version
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[j] = resp.StatusCode
			})
		}
		rwg.Wait()
		slices.Sort(codes)
		// The loser is 409 when both passed the If-Match check before
		// either committed, else 412 (its version is stale by then).
		if codes[0] != 200 || codes[1] != http.StatusConflict && codes[1] != http.StatusPreconditionFailed {
			t.Errorf("race %d: statuses %v, want one 200 and one 409 or 412", i, codes)
		}
		cases = append(cases, id)
	}

	// Login throttles hold for the service: wrong passwords spread over
	// the three processes add up, and then the right one is refused too
	// (each process alone saw two).
	for range 6 {
		if _, err := c.do("POST", "/v1/sessions", "", "application/json", strings.NewReader(fmt.Sprintf(`{"login_id":%q,"password":"wrong-%s"}`, b.login, run)), 401); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest("POST", proxy.URL+"/v1/sessions", strings.NewReader(fmt.Sprintf(`{"login_id":%q,"password":%q}`, b.login, b.password)))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode == 201 {
			t.Error("after six wrong passwords over three processes the right one logs in: throttles are per process")
		}
	}

	st, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool := st.Pool()
	// Every case of the schema (those whose registration answer the kill
	// cut off too) in a state a lifecycle reaches.
	var all, bad int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state NOT IN ('sent', 'received', 'returned', 'completed')) FROM cases`).Scan(&all, &bad); err != nil || bad != 0 || all < len(cases) {
		t.Errorf("%d cases stored (%d known to the clients), %d in another state: %v", all, len(cases), bad, err)
	}

	// Notices: wait until every event is delivered or held by a claim
	// (the killed process's, whose lease lapses after five minutes).
	type ev struct {
		id        string
		delivered bool
	}
	var events []ev
	for deadline := time.Now().Add(90 * time.Second); ; {
		events = events[:0]
		rows, err := pool.Query(ctx, `SELECT id, delivered_at IS NOT NULL, next_attempt_at > $1 FROM outbox`, time.Now().UnixNano())
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for rows.Next() {
			var e ev
			var leased bool
			if err := rows.Scan(&e.id, &e.delivered, &leased); err != nil {
				t.Fatal(err)
			}
			if !e.delivered && !leased {
				pending++
			}
			events = append(events, e)
		}
		rows.Close()
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notices neither delivered nor claimed after 90 s", pending)
		}
		time.Sleep(time.Second)
	}
	for i, p := range procs {
		if err := p.stop(); err != nil {
			t.Errorf("stopping: %v\n%s", err, p.stderr.String())
		}
		if log := p.stderr.String(); strings.Contains(log, "level=ERROR") {
			t.Logf("process %d logged errors:\n%s", i, log)
		}
	}
	sent := mailpitIDs(t, mailpit, run)
	undelivered := 0
	for _, e := range events {
		n := sent[e.id]
		delete(sent, e.id)
		switch {
		case e.delivered && n != 1:
			t.Errorf("notice %s delivered, in mailpit %d times", e.id, n)
		case !e.delivered:
			undelivered++
			if n > 1 {
				t.Errorf("notice %s not yet marked delivered, in mailpit %d times", e.id, n)
			}
		}
	}
	if len(sent) > 0 {
		t.Errorf("mailpit holds notices of no outbox event: %v", sent)
	}
	if undelivered > 10 {
		t.Errorf("%d notices held by claims; one killed process claims at most its batch", undelivered)
	}
	t.Logf("%d notices, %d held by the killed process's claim", len(events), undelivered)

	// Periodic jobs: once per leader, not once per process (four starts).
	rows, err := pool.Query(ctx, `SELECT kind || coalesce(':' || (args->>'name'), ''), count(*) FROM river_job WHERE state = 'completed' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		ran[k] = n
	}
	rows.Close()
	for _, k := range []string{"keiyaku_renew_evidence", "keiyaku_task:audit_anchor", "keiyaku_task:account_prune", "keiyaku_task:blob_collect"} {
		if n := ran[k]; n < 1 || n > 2 {
			t.Errorf("job %s ran %d times, want once per leader (1, or 2 if the killed process led)", k, n)
		}
	}

	// Orphans: collect as the job would a day later; then every object
	// is a blob some row names.
	blobs, err := storage.OpenBlobs(ctx, bucketURL)
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	rep, err := blobs.CollectOrphans(ctx, st, time.Now().Add(25*time.Hour), storage.DefaultOrphanGrace)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("orphan collection: %+v", rep)
	rep, err = blobs.CollectOrphans(ctx, st, time.Now().Add(25*time.Hour), storage.DefaultOrphanGrace)
	if err != nil || rep.Removed != 0 || rep.Referenced != rep.Listed || rep.Listed == 0 {
		t.Errorf("after the collection: %+v, %v; want every object referenced", rep, err)
	}

	n, err := storage.VerifyChain(ctx, st)
	if err != nil {
		t.Errorf("audit chain: %v", err)
	}
	t.Logf("audit chain of %d entries verifies", n)
}

// mailpitIDs counts the messages of this run in mailpit by the outbox
// event ID their Message-ID carries (<ID@run.example>).
func mailpitIDs(t *testing.T, api, run string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for start := 0; ; start += 500 {
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/search?query=%s&limit=500&start=%d", api, url.QueryEscape(`from:"no-reply@`+run+`.example"`), start))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Messages []struct{ MessageID string }
			Total    int `json:"messages_count"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			id, host, _ := strings.Cut(strings.Trim(m.MessageID, "<>"), "@")
			if host != run+".example" {
				t.Errorf("message %s from this run's sender", m.MessageID)
			}
			out[id]++
		}
		if len(page.Messages) < 500 {
			return out
		}
	}
}

// client drives the REST API through the proxy.
type client struct {
	t    *testing.T
	base string
}

// do sends a request; an answer other than want is an error (a 502 is the
// proxy's: the process died with the request).
func (c *client) do(method, path, token, ctype string, body io.Reader, want int) ([]byte, error) {
	req, _ := http.NewRequest(method, c.base+path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if id, ok := caseAction(method, path); ok {
		// A case action requires the case's current ETag (If-Match).
		etag, err := c.etag(id, token)
		if err != nil {
			return nil, err
		}
		req.Header.Set("If-Match", etag)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		if resp.StatusCode != http.StatusBadGateway {
			c.t.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b, fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
	return b, nil
}

// caseAction reports whether method and path are a case action
// (POST /v1/cases/{id}/{action}), and the case's ID.
func caseAction(method, path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/cases/")
	if method != "POST" || !ok {
		return "", false
	}
	id, action, ok := strings.Cut(rest, "/")
	return id, ok && action != ""
}

// etag reads the case's current ETag as token sees it.
func (c *client) etag(id, token string) (string, error) {
	req, _ := http.NewRequest("GET", c.base+"/v1/cases/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
		return "", fmt.Errorf("GET /v1/cases/%s for its ETag: %d", id, resp.StatusCode)
	}
	return resp.Header.Get("ETag"), nil
}

func (c *client) login(d demoLogin) string {
	c.t.Helper()
	b, err := c.do("POST", "/v1/sessions", "", "application/json", strings.NewReader(fmt.Sprintf(`{"login_id":%q,"password":%q}`, d.login, d.password)), 201)
	if err != nil {
		c.t.Fatal(err)
	}
	var s struct{ Token string }
	json.Unmarshal(b, &s)
	return s.Token
}

func (c *client) sign(d demoLogin, in []byte) []byte {
	c.t.Helper()
	key, err := pemfile.PrivateKey(d.key)
	if err != nil {
		c.t.Fatal(err)
	}
	certs, err := pemfile.Certificates(d.cert)
	if err != nil {
		c.t.Fatal(err)
	}
	var out bytes.Buffer
	if err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: key, Certificate: certs[0], Chain: []*x509.Certificate{}, Name: d.login,
	}); err != nil {
		c.t.Fatal(err)
	}
	return out.Bytes()
}

func multipartBody(parts ...[3]string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p[0])
		if p[1] != "" {
			cd += fmt.Sprintf(`; filename=%q`, p[1])
		}
		h.Set("Content-Disposition", cd)
		w, _ := mw.CreatePart(h)
		io.WriteString(w, p[2])
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

// lifecycle registers a case from one company to the other, has it
// received, returned and completed; it returns the case ID (once
// registered), whether it completed, and the error that cut it short.
func (c *client) lifecycle(from, to demoLogin, tf, tt, name string) (id string, done bool, err error) {
	return c.lifecycleTo(from, to, tf, tt, name, true)
}

// lifecycleTo is lifecycle; without complete it stops at "returned".
func (c *client) lifecycleTo(from, to demoLogin, tf, tt, name string, complete bool) (id string, done bool, err error) {
	doc := c.sign(from, pdftest.OnePage("BT /F1 12 Tf 72 720 Td ("+hex.EncodeToString([]byte(name))+") Tj ET").Bytes())
	nc := fmt.Sprintf(`{"form":"bilateral","name":%q,"transaction_date":"2026-12-01","amount":{"amount":"1100000","currency":"JPY"},"parties":[{"company_id":%q,"company_name":%q,"user_id":%q}]}`, name, to.companyID, to.company, to.userID)
	ct, body := multipartBody([3]string{"case", "", nc}, [3]string{"contract", "契約書.pdf", string(doc)})
	var cs struct {
		ID       string `json:"id"`
		State    string `json:"state"`
		Document struct {
			Key string `json:"key"`
		} `json:"document"`
	}
	b, err := c.do("POST", "/v1/cases", tf, ct, body, 201)
	if err != nil {
		return "", false, err
	}
	json.Unmarshal(b, &cs)
	if b, err = c.do("POST", "/v1/cases/"+cs.ID+"/receipt", tt, "", nil, 200); err != nil {
		return cs.ID, false, err
	}
	json.Unmarshal(b, &cs)
	got, err := c.do("GET", "/v1/cases/"+cs.ID+"/documents/"+cs.Document.Key, tt, "", nil, 200)
	if err != nil {
		return cs.ID, false, err
	}
	ct, body = multipartBody([3]string{"contract", "signed.pdf", string(c.sign(to, got))})
	if _, err := c.do("POST", "/v1/cases/"+cs.ID+"/returns", tt, ct, body, 200); err != nil || !complete {
		return cs.ID, false, err
	}
	if b, err = c.do("POST", "/v1/cases/"+cs.ID+"/completion", tf, "", nil, 200); err != nil {
		return cs.ID, false, err
	}
	json.Unmarshal(b, &cs)
	return cs.ID, cs.State == "completed", nil
}
