package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/signature"
)

type demoLogin struct{ login, password, company, companyID, userID, key, cert string }

var demoRE = regexp.MustCompile(`^demo user: login (\S+), password (\S+), company (.+) \(company_id (\S+), user_id (\S+)\), signing key (\S+), certificate (\S+)$`)

// TestBlackBox builds the real binary, starts it with -demo on a fresh
// directory, logs in with what it printed and runs a 1:1 lifecycle with
// plain net/http, then stops it with SIGTERM.
func TestBlackBox(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-dir", dir, "-demo", "-log-level", "warn", "-read-header-timeout", "1s")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	base, admin := "", ""
	demo := map[string]demoLogin{}
	sc := bufio.NewScanner(out)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(2 * time.Minute)
	for base == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before listening: %s", stderr.String())
			}
			if m := demoRE.FindStringSubmatch(line); m != nil {
				demo[m[1]] = demoLogin{m[1], m[2], m[3], m[4], m[5], m[6], m[7]}
			} else if v, ok := strings.CutPrefix(line, "listening on "); ok {
				base = v
			} else if v, ok := strings.CutPrefix(line, "operator: login operator, initial password "); ok {
				admin = strings.Fields(v)[0]
			}
		case <-deadline:
			t.Fatal("no 'listening on' within two minutes")
		}
	}
	go func() {
		for range lines {
		}
		exited <- cmd.Wait()
	}()
	if admin == "" || len(demo) != 2 {
		t.Fatalf("printed operator password %q and %d demo users", admin, len(demo))
	}

	call := func(method, path, token, ctype string, body io.Reader, want int, ifMatch ...string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if len(ifMatch) > 0 {
			req.Header.Set("If-Match", ifMatch[0]) // case actions require the case's ETag
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}

	// The portal answers at the root beside the API: its login page, in
	// Japanese by default, with a login form.
	if page := string(call("GET", "/login", "", "", nil, 200)); !strings.Contains(page, `lang="ja"`) || !strings.Contains(page, "<form") {
		t.Errorf("GET /login is not the portal's login page:\n%.400s", page)
	}
	if spec := call("GET", "/openapi.json", "", "", nil, 200); !bytes.Contains(spec, []byte(`"openapi"`)) {
		t.Errorf("GET /openapi.json: %.200s", spec)
	}
	login := func(id, pw string) (token string, must bool) {
		var s struct {
			Token string `json:"token"`
			Must  bool   `json:"must_change_password"`
		}
		b := call("POST", "/v1/sessions", "", "application/json", strings.NewReader(fmt.Sprintf(`{"login_id":%q,"password":%q}`, id, pw)), 201)
		json.Unmarshal(b, &s)
		return s.Token, s.Must
	}
	if tok, must := login("operator", admin); !must {
		t.Fatal("the operator's initial password need not be changed")
	} else {
		call("GET", "/v1/cases", tok, "", nil, 403)
		// A random password, strong under account.CheckPassword.
		call("PUT", "/v1/me/password", tok, "application/json", strings.NewReader(fmt.Sprintf(`{"old_password":%q,"new_password":%q}`, admin, rand.Text())), 204)
		// The operator sees no contract content.
		call("GET", "/v1/cases", tok, "", nil, 403)
	}
	a, b := demo["demo-a"], demo["demo-b"]
	ta, _ := login(a.login, a.password)
	tb, _ := login(b.login, b.password)

	sign := func(d demoLogin, in []byte) []byte {
		t.Helper()
		key, err := pemfile.PrivateKey(d.key)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := pemfile.Certificates(d.cert)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
			Signer: key, Certificate: certs[0], Chain: []*x509.Certificate{}, Name: d.login,
		}); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	multi := func(parts ...[3]string) (string, *bytes.Buffer) {
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
	doc := sign(a, pdftest.OnePage("BT /F1 12 Tf 72 720 Td (black box) Tj ET").Bytes())
	nc := fmt.Sprintf(`{"form":"bilateral","name":"黒箱契約","transaction_date":"2026-12-01","amount":{"amount":"1100000","currency":"JPY"},"parties":[{"company_id":%q,"company_name":%q,"user_id":%q}]}`, b.companyID, b.company, b.userID)
	ct, body := multi([3]string{"case", "", nc}, [3]string{"contract", "契約書.pdf", string(doc)})
	var c struct {
		ID       string `json:"id"`
		State    string `json:"state"`
		Version  int64  `json:"version"`
		Document struct {
			Key string `json:"key"`
		} `json:"document"`
	}
	etag := func() string { return fmt.Sprintf(`"v%d"`, c.Version) }
	json.Unmarshal(call("POST", "/v1/cases", ta, ct, body, 201), &c)
	call("POST", "/v1/cases/"+c.ID+"/receipt", tb, "", nil, 428) // without If-Match
	json.Unmarshal(call("POST", "/v1/cases/"+c.ID+"/receipt", tb, "", nil, 200, etag()), &c)
	got := call("GET", "/v1/cases/"+c.ID+"/documents/"+c.Document.Key, tb, "", nil, 200)
	ct, body = multi([3]string{"contract", "signed.pdf", string(sign(b, got))})
	json.Unmarshal(call("POST", "/v1/cases/"+c.ID+"/returns", tb, ct, body, 200, etag()), &c)
	json.Unmarshal(call("POST", "/v1/cases/"+c.ID+"/completion", ta, "", nil, 200, etag()), &c)
	if c.State != "completed" {
		t.Fatalf("state %s", c.State)
	}
	var v struct {
		Original bool `json:"original"`
	}
	if json.Unmarshal(call("GET", "/v1/cases/"+c.ID+"/verification", tb, "", nil, 200), &v); !v.Original {
		t.Fatal("the completed demo contract is not original")
	}

	// A huge header is refused (431, before any handler runs); a client
	// that sends its headers too slowly is cut off.
	req, _ := http.NewRequest("GET", base+"/v1/cases", nil)
	req.Header.Set("X-Huge", strings.Repeat("a", 128<<10))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("huge header: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("slow client: the server did not close the connection: %v", err)
	}
	conn.Close()

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
		// The jobs (River), the maintenance and the notifier ran and
		// stopped without an error.
		if strings.Contains(stderr.String(), "level=ERROR") {
			t.Errorf("the server logged errors:\n%s", stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("no exit within a minute of SIGTERM")
	}
}

func TestConfigError(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"-dir", ""}, {"-dir", t.TempDir(), "-log-level", "loud"}, {"-dir", t.TempDir(), "-tls-cert", "x"}, {"-dir", t.TempDir(), "-trusted-proxies", "nope"}} {
		errb.Reset()
		if code := run(context.Background(), args, &out, &errb); code != 2 || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
