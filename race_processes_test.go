package keiyaku_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

const (
	raceDirEnv   = "KEIYAKU_RACE_DIR"   // the parent's data directory
	raceTokenEnv = "KEIYAKU_RACE_TOKEN" // the registrant's session token
	raceCasesEnv = "KEIYAKU_RACE_CASES" // comma-separated case IDs
)

// TestTwoProcessesRaceSQLite: two processes on the embedded SQLite
// database (each its own Service, connections and Go state; the same
// database file and blob directory) delete the same cases at the same
// moment, with one session token: for each case exactly one wins, the
// other is refused (a conflict, or a transition the deleted case no
// longer allows), and the case's audit entries match its versions.
// TestManyProcesses races completions across server processes on
// PostgreSQL.
func TestTwoProcessesRaceSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	var ids []string
	for i := range 5 {
		ids = append(ids, w.registerWithFile(a, b, fmt.Sprintf("race %d", i), "添付").ID)
	}
	sess, err := w.svc.Accounts.Login(w.ctx, a.LoginID, a.Password, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	start := filepath.Join(w.dir, "race-start")
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRaceChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), raceDirEnv+"="+w.dir, raceTokenEnv+"="+sess.Token, raceCasesEnv+"="+strings.Join(ids, ","))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	// Both children open their service and wait for the start file.
	time.Sleep(2 * time.Second)
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wins := map[string]int{}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i])
		}
		for _, line := range strings.Split(outs[i].String(), "\n") {
			if id, ok := strings.CutPrefix(strings.TrimSpace(line), "race-won "); ok {
				wins[id]++
			}
		}
	}
	for _, id := range ids {
		if wins[id] != 1 {
			t.Errorf("case %s deleted by %d processes, want exactly 1\n%s\n%s", id, wins[id], outs[0], outs[1])
		}
		c, err := w.svc.Cases.Get(w.ctx, a.P, id)
		if err != nil || c.State.String() != "deleted" || c.Version != 2 {
			t.Errorf("case %s after the race: %v %v", id, c, err)
		}
		if err := w.svc.Cases.VerifyHistory(w.ctx, id); err != nil {
			t.Errorf("case %s history: %v", id, err)
		}
	}
}

// TestRaceChild is a child process of TestTwoProcessesRaceSQLite.
func TestRaceChild(t *testing.T) {
	dir := os.Getenv(raceDirEnv)
	if dir == "" {
		t.Skip("helper process of TestTwoProcessesRaceSQLite")
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "keiyaku.db"), BusyTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u := url.URL{Scheme: "file", Path: filepath.Join(dir, "blobs"), RawQuery: "metadata=skip"}
	blobs, err := storage.OpenBlobs(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	// Its own directory for the development TSA and spool files (one Dir
	// per Service); the database and blobs are the parent's.
	svc, err := keiyaku.Open(ctx, keiyaku.Config{Dir: t.TempDir(), Store: st, Blobs: blobs, PasswordParams: fastParams, Clock: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	p, err := svc.Accounts.Authenticate(ctx, os.Getenv(raceTokenEnv), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "race-start")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no start within a minute")
		}
	}
	for _, id := range strings.Split(os.Getenv(raceCasesEnv), ",") {
		_, err := svc.Cases.Delete(ctx, p, id)
		switch {
		case err == nil:
			fmt.Printf("race-won %s\n", id)
		case errors.Is(err, kerr.Conflict), errors.Is(err, kerr.FailedPrecondition):
			fmt.Printf("race-lost %s: %v\n", id, err)
		default:
			t.Errorf("Delete %s: %v", id, err)
		}
	}
}
