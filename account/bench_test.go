//go:build unix

package account_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
)

// BenchmarkLoginFailure measures what a caller can time: a failed login
// with an unknown login ID, with a wrong password, and against a blocked
// account, with the production argon2id parameters on the embedded
// SQLite store. The three should take the same time within the noise of
// one argon2id verification (issue 11); "right" is a successful login,
// for reference. Run with
//
//	go test ./account -run '^$' -bench BenchmarkLoginFailure -benchtime 20x -count 5
func BenchmarkLoginFailure(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B, maxFailures int) *account.Service {
		svc, _, _ := newGuarded(b, account.Config{Params: account.DefaultParams, MaxFailures: maxFailures, MaxFailuresPerAddress: 1 << 30, MaxFailuresPerAccount: 1 << 30})
		_, admin, pw, err := svc.CreateCompany(ctx, "株式会社ベンチ", account.NewUser{LoginID: "bench"}, "")
		if err != nil {
			b.Fatal(err)
		}
		ss, err := svc.Login(ctx, admin.LoginID, pw, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.ChangePassword(ctx, ss.Token, pw, adminPW, ""); err != nil {
			b.Fatal(err)
		}
		return svc
	}
	run := func(b *testing.B, svc *account.Service, login, pw string, wantErr bool) {
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			_, err := svc.Login(ctx, login, pw, "198.51.100.9")
			if (err != nil) != wantErr {
				b.Fatalf("login %d: %v", i, err)
			}
		}
	}
	b.Run("unknown", func(b *testing.B) {
		run(b, setup(b, 1<<30), "nobody-here", "wrong password", true)
	})
	b.Run("wrong", func(b *testing.B) {
		// A threshold never reached, so that every attempt is checked.
		run(b, setup(b, 1<<30), "bench", "wrong password", true)
	})
	b.Run("locked", func(b *testing.B) {
		svc := setup(b, 1)
		_, _ = svc.Login(ctx, "bench", "wrong password", "198.51.100.9")
		run(b, svc, "bench", adminPW, true)
	})
	b.Run("right", func(b *testing.B) {
		run(b, setup(b, 1<<30), "bench", adminPW, false)
	})
	// interleaved runs the four kinds one after the other in every
	// iteration, in a rotating order, so that they share whatever else
	// the machine is doing, and reports the mean of each as a metric
	// (ms/unknown, ms/wrong, ms/locked, ms/right): the figures to
	// compare on a loaded machine.
	b.Run("interleaved", func(b *testing.B) {
		open, blocked := setup(b, 1<<30), setup(b, 1)
		_, _ = blocked.Login(ctx, "bench", "wrong password", "198.51.100.9")
		kinds := []struct {
			name      string
			svc       *account.Service
			login, pw string
		}{
			{"unknown", open, "nobody-here", "wrong password"},
			{"wrong", open, "bench", "wrong password"},
			{"locked", blocked, "bench", adminPW},
			{"right", open, "bench", adminPW},
		}
		total := make([]time.Duration, len(kinds))
		cpu := make([]time.Duration, len(kinds))
		n := 0
		for i := 0; b.Loop(); i++ {
			for j := range kinds {
				k := (i + j) % len(kinds)
				start, startCPU := time.Now(), cpuTime()
				_, err := kinds[k].svc.Login(ctx, kinds[k].login, kinds[k].pw, "198.51.100.9")
				total[k] += time.Since(start)
				cpu[k] += cpuTime() - startCPU
				if (err == nil) != (kinds[k].name == "right") {
					b.Fatalf("%s: %v", kinds[k].name, err)
				}
			}
			n++
		}
		for k, kind := range kinds {
			b.ReportMetric(total[k].Seconds()*1000/float64(n), "ms/"+kind.name)
			b.ReportMetric(cpu[k].Seconds()*1000/float64(n), "cpu-ms/"+kind.name)
		}
	})
}

// cpuTime is the CPU time (user + system) the process has used: the work
// a login does, which unlike wall time hardly depends on what else the
// machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
