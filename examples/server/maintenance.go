package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// maintenanceInterval is how often the server prunes expired sessions and
// throttle records and anchors the audit log. The period bounds how much
// tail of the audit log someone with database access could drop unnoticed
// (archive.Service.AnchorAudit).
const maintenanceInterval = time.Hour

// maintainOnce runs the periodic upkeep that package jobs does not (yet)
// schedule: account.Service.Prune and archive.Service.AnchorAudit on the
// service's store (when it keeps anchors). An empty audit log is not an
// error. Both run; the errors are joined.
func maintainOnce(ctx context.Context, svc *keiyaku.Service, log *slog.Logger) error {
	var errs []error
	if sess, thr, err := svc.Accounts.Prune(ctx); err != nil {
		errs = append(errs, err)
	} else if sess+thr > 0 {
		log.Info("pruned", "sessions", sess, "throttles", thr)
	}
	if st, ok := svc.Store.(storage.AnchoredStore); ok {
		if _, err := svc.Archive.AnchorAudit(ctx, st); err != nil && !errors.Is(err, kerr.FailedPrecondition) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// maintain runs maintainOnce at start and every interval until ctx is done,
// logging failures (the next round tries again).
func maintain(ctx context.Context, svc *keiyaku.Service, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := maintainOnce(ctx, svc, log); err != nil && ctx.Err() == nil {
			log.Error("maintenance", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
