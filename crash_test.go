package keiyaku_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/storage"
)

const (
	crashDirEnv   = "KEIYAKU_CRASH_DIR"
	crashRoundEnv = "KEIYAKU_CRASH_ROUND"
	// crashMaxCases stops a child that was somehow not killed, and keeps
	// the outbox under one DueEvents page.
	crashMaxCases = 60
)

// TestCrashSafety re-executes the test binary as a child that registers,
// returns and completes cases in a loop on one data directory, kills it
// with SIGKILL at a random moment, and checks what the reopened service
// finds: every case in a state it was committed in, never between two -
// its audit entries and outbox events match its version and state, every
// blob it names exists and is intact, sealed files only on completed cases
// - and the audit chain verifies. Then it does it again on the same
// directory, so the second child also starts from a crashed one.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	dir := t.TempDir()
	for round := 1; round <= 2; round++ {
		progress := filepath.Join(dir, fmt.Sprintf("progress-%d", round))
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for a few completed cases, then kill at a random moment of
		// the next ones.
		deadline := time.Now().Add(90 * time.Second)
		for completedIn(progress) < 3 {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("round %d: the child completed no cases in time:\n%s", round, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if err == nil {
			t.Logf("round %d: the child finished before it was killed:\n%s", round, out)
		}
		n := completedIn(progress)
		checkConsistent(t, dir, round, n)
	}
}

func completedIn(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// TestCrashChild is the child process of TestCrashSafety.
func TestCrashChild(t *testing.T) {
	dir, round := os.Getenv(crashDirEnv), os.Getenv(crashRoundEnv)
	if dir == "" {
		t.Skip("helper process of TestCrashSafety")
	}
	w := &world{t: t, ctx: context.Background(), pki: testpki.New(t), smtp: startSMTP(t), dir: dir, m: map[string]*member{}}
	w.svc = w.open()
	a := w.newMember("A"+round, "エー "+round, "A", "ja", w.pki.ECDSAP256)
	b := w.newMember("B"+round, "Bee "+round, "B", "en", w.pki.RSA)
	progress := filepath.Join(dir, "progress-"+round)
	// Three lifecycles at a time, so that the kill also lands in the
	// middle of a group commit (several state changes in one SQLite
	// transaction, each in its own savepoint).
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			perGoroutine := crashMaxCases / 3
			if n, err := strconv.Atoi(os.Getenv(crashCasesEnv)); err == nil && n > 0 { // faultpoint_test.go
				perGoroutine = n
			}
			for i := 1; i <= perGoroutine; i++ {
				c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
					Form: casework.FormBilateral, Name: fmt.Sprintf("crash %s-%d-%d", round, g, i), Amount: casework.Money{Amount: int64(i), Currency: "JPY"},
					TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b)},
					Document:    upload("c.pdf", w.sign(a, contract(fmt.Sprintf("Contract %s-%d-%d", round, g, i)))),
					Supplements: []casework.Upload{{Name: "s.txt", Body: strings.NewReader(fmt.Sprintf("supplement %s-%d-%d", round, g, i))}},
				})
				if err != nil {
					t.Error(err)
					return
				}
				w.complete(c, a, b)
				mu.Lock()
				done++
				err = os.WriteFile(progress+".tmp", []byte(strconv.Itoa(done)), 0o600)
				if err == nil {
					err = os.Rename(progress+".tmp", progress)
				}
				mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if os.Getenv(crashDeliverEnv) != "" { // faultpoint_test.go
		if _, _, err := w.svc.DeliverOnce(w.ctx); err != nil {
			t.Error(err)
		}
	}
}

// checkConsistent reopens the directory after a crash and checks every
// case, the outbox and the audit chain.
func checkConsistent(t *testing.T, dir string, round, completed int) {
	t.Helper()
	ctx := context.Background()
	svc, err := keiyaku.Open(ctx, keiyaku.Config{Dir: dir, PasswordParams: fastParams, Clock: fixedClock})
	if err != nil {
		t.Fatalf("round %d: reopening after the crash: %v", round, err)
	}
	defer svc.Close()
	if _, err := svc.Cases.VerifyAudit(ctx); err != nil {
		t.Fatalf("round %d: audit chain: %v", round, err)
	}
	events := map[string]int{}
	due, err := svc.Store.DueEvents(ctx, today().Add(time.Hour), storage.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) == storage.MaxPageSize {
		t.Fatalf("round %d: too many events to count in one page", round)
	}
	for _, ev := range due {
		events[ev.CaseID]++
	}
	wantEvents := map[string]int{"sent": 1, "received": 1, "returned": 2, "completed": 3}
	var cases []*storage.Case
	q := storage.CaseQuery{Sort: storage.SortCreated, Limit: storage.MaxPageSize}
	for {
		page, err := svc.Store.SearchCases(ctx, &q)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, page.Cases...)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	done := 0
	for _, c := range cases {
		want, ok := wantEvents[c.State]
		if !ok {
			t.Errorf("case %s is in state %q", c.ID, c.State)
			continue
		}
		if c.State == "completed" {
			done++
		}
		if events[c.ID] != want {
			t.Errorf("case %s (%s, version %d) has %d outbox events, want %d", c.ID, c.State, c.Version, events[c.ID], want)
		}
		if (c.State == "completed") != (len(c.Sealed) == 3) { // the sealed PDF, its record, the supplement's record
			t.Errorf("case %s is %s with %d sealed files", c.ID, c.State, len(c.Sealed))
		}
		files := append([]storage.File{c.Document}, c.Supplements...)
		for _, f := range append(files, c.Sealed...) {
			if err := svc.Blobs.Verify(ctx, f.Key, f.Size); err != nil {
				t.Errorf("case %s: file %s: %v", c.ID, f.Name, err)
			}
		}
		entries, err := svc.Store.ListAudit(ctx, 0, c.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		changes := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Action, "case.") && e.Action != "case.download" {
				changes++
			}
		}
		if int64(changes) != c.Version {
			t.Errorf("case %s at version %d has %d state-change audit entries", c.ID, c.Version, changes)
		}
	}
	if done < completed {
		t.Errorf("round %d: %d completed cases found; the child reported %d", round, done, completed)
	}
	checkNoOrphans(t, svc, dir, cases)
	t.Logf("round %d: %d cases (%d completed) consistent after SIGKILL", round, len(cases), done)
}

// checkNoOrphans ages every object of dir's blob directory past any grace,
// collects orphans (a crash between a blob write and its commit leaves
// one) and checks that no unreferenced blob is left and that every file
// the cases name is still intact.
func checkNoOrphans(t *testing.T, svc *keiyaku.Service, dir string, cases []*storage.Case) {
	t.Helper()
	ctx := context.Background()
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
	first, err := svc.CollectOrphans(ctx)
	if err != nil {
		t.Fatalf("collecting orphans: %v", err)
	}
	again, err := svc.CollectOrphans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Removed != 0 || again.Young != 0 || again.Listed != again.Referenced+again.Other {
		t.Errorf("after collection: %+v (first pass %+v): unreferenced objects left", again, first)
	}
	for _, c := range cases {
		files := append([]storage.File{c.Document}, c.Supplements...)
		for _, f := range append(files, c.Sealed...) {
			if err := svc.Blobs.Verify(ctx, f.Key, f.Size); err != nil {
				t.Errorf("case %s: file %s after orphan collection: %v", c.ID, f.Name, err)
			}
		}
	}
	if first.Removed > 0 {
		t.Logf("orphan collection after the crash removed %d objects (%d bytes)", first.Removed, first.Bytes)
	}
}
