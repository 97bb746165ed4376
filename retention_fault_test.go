package keiyaku_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/internal/failpoint"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/kerr"
)

const (
	retentionCrashDirEnv  = "KEIYAKU_RETENTION_CRASH_DIR"
	retentionCrashTimeEnv = "KEIYAKU_RETENTION_CRASH_TIME" // Unix nanoseconds of the child's clock
)

// TestRetentionFaultPoints crashes a child process (TestRetentionCrashChild)
// at each fault point of a retention deletion in turn
// (failpoint.RetentionPoints), each on a fresh data directory holding two
// completed cases that share a blob, one of them due. After each crash
// it checks that the due case is either intact (every blob it names
// still there) or has a deletion record that verifies and is named in
// the audit chain; that the audit chain verifies; that the shared blob
// and the other case survive. Then a new sweep resumes, and the case is
// gone with its record finished, its own blobs removed, the shared one
// kept.
func TestRetentionFaultPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	for _, point := range failpoint.RetentionPoints {
		t.Run(point, func(t *testing.T) {
			clk := &testClock{t: fixedClock()}
			w := newWorldWith(t, func(w *world, cfg *keiyaku.Config) { cfg.Clock = clk.Now })
			a, b := w.m["A"], w.m["B"]
			shared := "shared " + uniqueName("fault")
			keep := w.registerWith(a, b, uniqueName("keep"), shared)
			due := w.registerWith(a, b, uniqueName("due"), shared)
			if _, err := w.svc.Cases.SetRetention(w.ctx, a.P, due.ID, casework.RetainDelete); err != nil {
				t.Fatal(err)
			}
			r, err := w.svc.Cases.RetentionOf(w.ctx, a.P, due.ID)
			if err != nil {
				t.Fatal(err)
			}
			day := r.Until.In(jstZone(t)).Add(10 * time.Hour)
			w.travel(clk, day.AddDate(0, 0, -30))
			if rep := w.sweep(); rep.Noticed != 1 {
				t.Fatalf("notice sweep: %+v", rep)
			}
			w.travel(clk, day) // replaces an expired development TSA before the child
			ownKeys, err := w.svc.Store.CaseBlobs(w.ctx, due.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.svc.Close(); err != nil {
				t.Fatal(err)
			}

			cmd := exec.Command(os.Args[0], "-test.run=^TestRetentionCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), retentionCrashDirEnv+"="+w.dir, retentionCrashTimeEnv+"="+strconv.FormatInt(day.UnixNano(), 10), failpoint.Env+"="+point)
			out := &strings.Builder{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
			err = cmd.Wait()
			timer.Stop()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("the child was not killed at %s (err %v): the point was never reached:\n%s", point, err, out)
			}
			if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the child ended with %v, not SIGKILL at %s:\n%s", err, point, out)
			}

			w.svc = w.open()
			sharedKey := keep.Supplements[0].Key
			check := func(stage string) {
				if !blobExists(t, w, sharedKey) {
					t.Errorf("%s: the shared blob is gone", stage)
				}
				if _, err := w.svc.Cases.Get(w.ctx, b.P, keep.ID); err != nil {
					t.Errorf("%s: the other case: %v", stage, err)
				}
				if n, err := w.svc.Cases.VerifyAudit(w.ctx); err != nil || n == 0 {
					t.Errorf("%s: VerifyAudit = %d, %v", stage, n, err)
				}
			}
			rec, err := w.svc.Store.GetDeletionRecord(w.ctx, due.ID)
			switch {
			case errors.Is(err, kerr.NotFound): // crashed before the record: intact
				if _, err := w.svc.Cases.Get(w.ctx, a.P, due.ID); err != nil {
					t.Errorf("no record, but the case is not intact: %v", err)
				}
				for _, k := range ownKeys {
					if !blobExists(t, w, k) {
						t.Errorf("no record, but blob %s of the case is gone", k)
					}
				}
				t.Logf("after the crash at %s: the case is intact", point)
			case err != nil:
				t.Fatal(err)
			default:
				if _, err := w.svc.Archive.VerifyDeletionRecord(rec); err != nil {
					t.Errorf("the record committed before the crash does not verify: %v", err)
				}
				t.Logf("after the crash at %s: the deletion is recorded (finished %v)", point, rec.Finished)
			}
			check("after the crash")

			rep := w.sweep()
			t.Logf("resumed: %+v", rep)
			if rep.Deleted != 1 && point != failpoint.RetentionFinished {
				t.Errorf("the resumed sweep deleted %d cases, want 1", rep.Deleted)
			}
			final := checkDeleted(t, w, a, due.ID, casework.RetainDelete)
			for _, k := range final.Removing {
				if blobExists(t, w, k) {
					t.Errorf("blob %s of the deleted case survived", k)
				}
			}
			if len(final.Removing) != len(ownKeys)-1 {
				t.Errorf("removed %d blobs, want all %d but the shared one", len(final.Removing), len(ownKeys))
			}
			check("after the resumed sweep")
		})
	}
}

// TestRetentionCrashChild is the child of TestRetentionFaultPoints: it
// opens the data directory at the given time and sweeps, to be killed at
// the armed fault point.
func TestRetentionCrashChild(t *testing.T) {
	dir := os.Getenv(retentionCrashDirEnv)
	if dir == "" {
		t.Skip("helper process of TestRetentionFaultPoints")
	}
	ns, err := strconv.ParseInt(os.Getenv(retentionCrashTimeEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(0, ns)
	w := &world{t: t, ctx: context.Background(), pki: testpki.New(t), smtp: startSMTP(t), dir: dir, m: map[string]*member{}}
	w.mutate = func(cfg *keiyaku.Config) { cfg.Clock = func() time.Time { return at } }
	w.svc = w.open()
	rep, err := w.svc.Cases.SweepRetention(w.ctx)
	t.Fatalf("the sweep returned (%+v, %v) instead of crashing at %s", rep, err, os.Getenv(failpoint.Env))
}
