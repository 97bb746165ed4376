package keiyaku_test

import (
	"cloud.google.com/go/civil"
	"context"
	"errors"
	"github.com/keiyaku/keiyaku/archive/ers"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/failpoint"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/timestamp"
)

const (
	crashCasesEnv   = "KEIYAKU_CRASH_CASES"   // lifecycles per goroutine in TestCrashChild
	crashDeliverEnv = "KEIYAKU_CRASH_DELIVER" // TestCrashChild delivers the outbox at the end
)

// faultArm is where each point is armed: "name@n" crashes at the n-th hit,
// so that the store's commit points land in the middle of the lifecycles
// rather than in the set-up of the first company.
var faultArm = map[string]string{
	failpoint.CommitBegin: failpoint.CommitBegin + "@30",
	failpoint.CommitDone:  failpoint.CommitDone + "@30",
	failpoint.SealStamped: failpoint.SealStamped + "@2",
}

// TestFaultPoints crashes a child process (TestCrashChild) at every named
// fault point of internal/failpoint in turn, each on a fresh data
// directory, and checks that the child died there (SIGKILL; a point never
// reached fails the test) and what the reopened service finds: every case
// in a state it was committed in with matching audit entries and outbox
// events, every named blob intact, the audit chain whole
// (checkConsistent); then, after the restart, that a new lifecycle's TSA
// serial numbers were never handed out before.
func TestFaultPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	for _, point := range failpoint.All {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			arm := point
			if a, ok := faultArm[point]; ok {
				arm = a
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"=1", failpoint.Env+"="+arm, crashCasesEnv+"=2")
			if point == failpoint.OutboxSent {
				cmd.Env = append(cmd.Env, crashDeliverEnv+"=1")
			}
			out := &strings.Builder{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(3*time.Minute, func() { _ = cmd.Process.Kill() })
			err := cmd.Wait()
			timer.Stop()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("the child was not killed at %s (err %v): the point was never reached:\n%s", arm, err, out)
			}
			if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the child ended with %v, not SIGKILL at %s:\n%s", err, arm, out)
			}
			checkConsistent(t, dir, 1, completedIn(filepath.Join(dir, "progress-1")))
			checkSerialsAfterRestart(t, dir)
		})
	}
}

// checkSerialsAfterRestart reopens dir, completes one more lifecycle and
// checks that no two different RFC 3161 tokens stored as sealed files or
// inside their evidence records share a serial number: the serials
// reserved before the crash are never handed out again.
func checkSerialsAfterRestart(t *testing.T, dir string) {
	t.Helper()
	w := newWorldWith(t, nil) // closes w.svc at the end, whichever it is then
	if err := w.svc.Close(); err != nil {
		t.Fatal(err)
	}
	w.dir = dir
	w.svc = w.open()
	a := w.newMember("A9", "エー 9", "A", "ja", w.pki.ECDSAP256)
	b := w.newMember("B9", "Bee 9", "B", "en", w.pki.RSA)
	ctx := context.Background()
	c, err := w.svc.Cases.Register(ctx, a.P, &casework.NewCase{
		Form: casework.FormBilateral, Name: "after the crash", Amount: casework.Money{Amount: 1, Currency: "JPY"},
		TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b)},
		Document:    upload("c.pdf", w.sign(a, contract("Contract after the crash"))),
		Supplements: []casework.Upload{{Name: "s.txt", Body: strings.NewReader("supplement after the crash")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.complete(c, a, b)
	seen := map[string]string{}
	q := storage.CaseQuery{Sort: storage.SortCreated, Limit: storage.MaxPageSize}
	tokens := 0
	for {
		page, err := w.svc.Store.SearchCases(ctx, &q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Cases {
			for _, f := range c.Sealed {
				b, err := w.svc.Blobs.ReadAll(ctx, f.Key, f.Size)
				if err != nil {
					t.Fatal(err)
				}
				for _, raw := range sealedTokens(b) {
					tok, err := timestamp.Parse(raw)
					if err != nil {
						t.Errorf("case %s, %s: a token that does not parse: %v", c.ID, f.Name, err)
						continue
					}
					// Records sealed together share one token: the same
					// token twice is one serial handed out once.
					if other, dup := seen[tok.Serial.String()]; dup && other != string(raw) {
						t.Errorf("TSA serial %s handed out twice (case %s, %s)", tok.Serial, c.ID, f.Name)
					} else if !dup {
						tokens++
					}
					seen[tok.Serial.String()] = string(raw)
				}
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if tokens == 0 {
		t.Error("no timestamp token among the sealed files: nothing was checked")
	}
	t.Logf("%d TSA serials, all distinct, after the restart", tokens)
}

// sealedTokens returns the RFC 3161 tokens a sealed file holds: the file
// itself when it is a token (cases sealed before evidence records), every
// archive timestamp's token when it is an RFC 4998 evidence record, none
// for a sealed PDF.
func sealedTokens(b []byte) [][]byte {
	if _, err := timestamp.Parse(b); err == nil {
		return [][]byte{b}
	}
	rec, err := ers.Parse(b)
	if err != nil {
		return nil
	}
	var toks [][]byte
	for _, chain := range rec.Chains {
		for _, ats := range chain {
			toks = append(toks, ats.TimeStamp)
		}
	}
	return toks
}
