package renewal

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

// AlertInterval is how often at most a Renewer alerts a company about
// failed renewals (casework.AlertRenewalFailed): the pass is retried with
// backoff (package jobs, up to jobs.MaxAttempts times), and the
// administrators need one notice, not one per try. The memory of what was
// alerted is per process: a restart may alert again.
const AlertInterval = 24 * time.Hour

// alerts remembers when each company was last alerted.
type alerts struct {
	mu   sync.Mutex
	last map[string]time.Time // registrant company ID -> time
}

// alert tells the administrators of the registrant companies of cases that
// renewing their evidence failed with cause: one notice per company (on
// its first case, naming how many more), at most once per AlertInterval.
// A conflict (a case changed under the pass) and a cancelled pass alert
// no one. Failures to alert are logged; the renewal's error is what
// matters to the caller.
func (r *Renewer) alert(ctx context.Context, cases []*casework.Case, cause error) {
	if errors.Is(cause, kerr.Conflict) || errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) || ctx.Err() != nil {
		return
	}
	byCompany := map[string][]*casework.Case{}
	var order []string
	seen := map[*casework.Case]bool{}
	for _, c := range cases {
		if seen[c] {
			continue
		}
		seen[c] = true
		if byCompany[c.RegistrantCompanyID] == nil {
			order = append(order, c.RegistrantCompanyID)
		}
		byCompany[c.RegistrantCompanyID] = append(byCompany[c.RegistrantCompanyID], c)
	}
	now := r.cfg.Archive.Now()
	for _, co := range order {
		r.alerted.mu.Lock()
		last, ok := r.alerted.last[co]
		due := !ok || now.Sub(last) >= AlertInterval || now.Before(last)
		if due {
			r.alerted.last[co] = now
		}
		r.alerted.mu.Unlock()
		if !due {
			continue
		}
		cs := byCompany[co]
		if err := r.cfg.Cases.AlertRenewalFailed(ctx, cs[0], r.cfg.Actor, cause, len(cs)-1); err != nil {
			r.cfg.Logger.ErrorContext(ctx, "renewal: cannot alert the company about a failed renewal", "company", co, "case", cs[0].ID, "error", err)
		}
	}
}

// casesOf lists the cases of ps.
func casesOf(ps []pending) []*casework.Case {
	out := make([]*casework.Case, len(ps))
	for i, p := range ps {
		out[i] = p.c
	}
	return out
}
