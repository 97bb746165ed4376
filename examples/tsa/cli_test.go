package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/timestamp"
)

// syncBuffer is a bytes.Buffer the server's goroutines may write to while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCLIExitCodes: every exit status of the command.
func TestCLIExitCodes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"-h prints usage and exits 0", []string{"-h"}, 0},
		{"unknown flag", []string{"-frobnicate"}, 2},
		{"unexpected argument", []string{"file.pdf"}, 2},
		{"bad -policy", []string{"-dir", dir, "-policy", "not-an-oid"}, 1},
		{"-key without -cert", []string{"-dir", dir, "-key", dir + "/k.pem"}, 1},
		{"unreadable key", []string{"-dir", dir, "-key", dir + "/none.pem", "-cert", dir + "/none.pem"}, 1},
		{"address in use or invalid", []string{"-dir", dir, "-addr", "256.0.0.1:http"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := cli(context.Background(), c.args, &stdout, &stderr, nil); code != c.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.want, stdout.String(), stderr.String())
			}
			if c.want == 0 && !strings.Contains(stdout.String(), "usage: tsa") {
				t.Errorf("-h: no usage on stdout:\n%s", stdout.String())
			}
			if c.want == 2 && !strings.Contains(stderr.String(), "usage: tsa") {
				t.Errorf("usage error: no usage on stderr:\n%s", stderr.String())
			}
		})
	}
}

// TestServeAndLog runs the TSA on a loopback port: each request is logged
// with serial, policy, digest algorithm, status and remote address, and a
// cancelled context shuts it down with exit status 0.
func TestServeAndLog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	var stderr syncBuffer
	ready := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- cli(ctx, []string{"-addr", "127.0.0.1:0", "-dir", t.TempDir()}, &stdout, &stderr, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("exited %d before serving:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("not serving after 30 s")
	}
	d := sha256.Sum256([]byte("contract"))
	c := &timestamp.Client{URL: "http://" + addr + "/"}
	tok, err := c.Timestamp(context.Background(), d[:])
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("not a request"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("shutdown: exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no shutdown after 30 s")
	}
	var granted, rejected string
	for _, line := range strings.Split(stderr.String(), "\n") {
		switch {
		case strings.Contains(line, "timestamp request") && strings.Contains(line, "status=granted"):
			granted = line
		case strings.Contains(line, "timestamp request") && strings.Contains(line, "status=rejection"):
			rejected = line
		}
	}
	for _, want := range []string{"serial=" + tok.Serial.String(), "policy=1.3.6.1.4.1.99999.1.1", "digest_algorithm=SHA-256", "remote=127.0.0.1:"} {
		if !strings.Contains(granted, want) {
			t.Errorf("granted request log %q lacks %q", granted, want)
		}
	}
	for _, want := range []string{"digest_algorithm=unreadable", "remote=127.0.0.1:", "fail_info="} {
		if !strings.Contains(rejected, want) {
			t.Errorf("rejected request log %q lacks %q", rejected, want)
		}
	}
}
