package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.WebhookStore = (*Store)(nil)

// insertWebhookDelivery writes one delivery of a case commit.
func insertWebhookDelivery(ctx context.Context, tx *wtx, op string, d *storage.WebhookDelivery) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_subscriptions WHERE id = ?`, d.SubscriptionID).Scan(&n); err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return kerr.E(kerr.FailedPrecondition, op, "webhook subscription %q does not exist", d.SubscriptionID)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, subscription_id, company_id, type, case_id, body, created_at, next_attempt_at)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.SubscriptionID, d.CompanyID, d.Type, d.CaseID, d.Body, nanos(d.CreatedAt), nanos(d.NextAttemptAt))
	if err != nil {
		return dbErr(op, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if k == 0 {
		return kerr.E(kerr.Conflict, op, "webhook delivery %q exists already", d.ID)
	}
	return nil
}

// CreateWebhook implements storage.WebhookStore.
func (s *Store) CreateWebhook(ctx context.Context, w *storage.WebhookSubscription, max int, audit []storage.AuditEntry) error {
	const op = "sqlite.CreateWebhook"
	if err := storage.CheckWebhook(op, w); err != nil {
		return err
	}
	body, err := encode(op, w)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_subscriptions WHERE company_id = ?`, w.CompanyID).Scan(&n); err != nil {
			return dbErr(op, err)
		}
		if n >= max {
			return kerr.E(kerr.FailedPrecondition, op, "company %q has %d webhook subscriptions, the most allowed: delete one first", w.CompanyID, n)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscriptions (id, company_id, created_at, body) VALUES (?,?,?,?) ON CONFLICT (id) DO NOTHING`,
			w.ID, w.CompanyID, nanos(w.CreatedAt), body)
		if err != nil {
			return dbErr(op, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return kerr.E(kerr.Conflict, op, "webhook subscription %q exists already", w.ID)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// UpdateWebhook implements storage.WebhookStore.
func (s *Store) UpdateWebhook(ctx context.Context, w *storage.WebhookSubscription, audit []storage.AuditEntry) error {
	const op = "sqlite.UpdateWebhook"
	if err := storage.CheckWebhook(op, w); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT body FROM webhook_subscriptions WHERE id = ?`, w.ID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "webhook subscription %q does not exist", w.ID)
		} else if err != nil {
			return dbErr(op, err)
		}
		var prev storage.WebhookSubscription
		if err := decode(op, old, &prev); err != nil {
			return err
		}
		next := *w
		next.CompanyID, next.CreatedAt, next.CreatedBy = prev.CompanyID, prev.CreatedAt, prev.CreatedBy
		body, err := encode(op, &next)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET body = ? WHERE id = ?`, body, w.ID); err != nil {
			return dbErr(op, err)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// DeleteWebhook implements storage.WebhookStore.
func (s *Store) DeleteWebhook(ctx context.Context, id string, audit []storage.AuditEntry) error {
	const op = "sqlite.DeleteWebhook"
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_subscriptions WHERE id = ?`, id)
		if err != nil {
			return dbErr(op, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return kerr.E(kerr.NotFound, op, "webhook subscription %q does not exist", id)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// GetWebhook implements storage.WebhookStore.
func (s *Store) GetWebhook(ctx context.Context, id string) (*storage.WebhookSubscription, error) {
	const op = "sqlite.GetWebhook"
	var body string
	err := s.readRow(ctx, `SELECT body FROM webhook_subscriptions WHERE id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "webhook subscription %q does not exist", id)
	} else if err != nil {
		return nil, dbErr(op, err)
	}
	var w storage.WebhookSubscription
	if err := decode(op, body, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// ListWebhooks implements storage.WebhookStore.
func (s *Store) ListWebhooks(ctx context.Context, companyID string) ([]storage.WebhookSubscription, error) {
	const op = "sqlite.ListWebhooks"
	// Read on every case commit (webhook.Service.PlanWebhooks): prepared once.
	st, err := s.rprepared(ctx, `SELECT body FROM webhook_subscriptions WHERE company_id = ? ORDER BY created_at, id`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	rows, err := st.QueryContext(ctx, companyID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []storage.WebhookSubscription
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(op, err)
		}
		var w storage.WebhookSubscription
		if err := decode(op, body, &w); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, dbErr(op, rows.Err())
}

const deliveryColumns = `seq, id, subscription_id, company_id, type, case_id, body, created_at, attempts, next_attempt_at, delivered_at, gave_up, last_status, last_error`

type scanner interface{ Scan(...any) error }

func scanDelivery(r scanner) (storage.WebhookDelivery, error) {
	var d storage.WebhookDelivery
	var created, next, delivered int64
	var gaveUp int
	err := r.Scan(&d.Seq, &d.ID, &d.SubscriptionID, &d.CompanyID, &d.Type, &d.CaseID, &d.Body, &created, &d.Attempts, &next, &delivered, &gaveUp, &d.LastStatus, &d.LastError)
	d.CreatedAt, d.NextAttemptAt, d.DeliveredAt, d.GaveUp = unnanos(created), unnanos(next), unnanos(delivered), gaveUp != 0
	return d, err
}

func scanDeliveries(op string, rows *sql.Rows) ([]storage.WebhookDelivery, error) {
	defer rows.Close()
	var out []storage.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, d)
	}
	return out, dbErr(op, rows.Err())
}

// ClaimWebhookDeliveries implements storage.WebhookStore.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]storage.WebhookDelivery, error) {
	const op = "sqlite.ClaimWebhookDeliveries"
	if limit < 1 || limit > 1000 || lease <= 0 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d must be 1..1000 and lease %s positive", limit, lease)
	}
	var out []storage.WebhookDelivery
	err := s.write(ctx, op, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE delivered_at = 0 AND gave_up = 0 AND next_attempt_at <= ? ORDER BY next_attempt_at, seq LIMIT ?`, nanos(now), limit)
		if err != nil {
			return dbErr(op, err)
		}
		if out, err = scanDeliveries(op, rows); err != nil {
			return err
		}
		for _, d := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE seq = ?`, nanos(now.Add(lease)), d.Seq); err != nil {
				return dbErr(op, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecordWebhookAttempt implements storage.WebhookStore.
func (s *Store) RecordWebhookAttempt(ctx context.Context, a *storage.WebhookAttempt, delivered bool, next time.Time) error {
	const op = "sqlite.RecordWebhookAttempt"
	msg := storage.TrimWebhookError(a.Error)
	return s.write(ctx, op, func(tx *wtx) error {
		var attempts int
		err := tx.QueryRowContext(ctx, `SELECT attempts FROM webhook_deliveries WHERE id = ?`, a.DeliveryID).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", a.DeliveryID)
		} else if err != nil {
			return dbErr(op, err)
		}
		attempts++
		var deliveredAt, nextAt int64
		gaveUp := 0
		switch {
		case delivered:
			deliveredAt = nanos(a.At)
		case next.IsZero():
			gaveUp = 1
		default:
			nextAt = nanos(next)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?,
			delivered_at = ?, gave_up = ?, next_attempt_at = ? WHERE id = ?`,
			attempts, a.StatusCode, msg, deliveredAt, gaveUp, nextAt, a.DeliveryID); err != nil {
			return dbErr(op, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, n, at, status, error, duration_ns) VALUES (?,?,?,?,?,?)`,
			a.DeliveryID, attempts, nanos(a.At), a.StatusCode, msg, int64(a.Duration)); err != nil {
			return dbErr(op, err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE delivery_id = ? AND n <= ?`, a.DeliveryID, attempts-storage.MaxWebhookAttempts)
		return dbErr(op, err)
	})
}

// RequeueWebhookDelivery implements storage.WebhookStore.
func (s *Store) RequeueWebhookDelivery(ctx context.Context, id string, at time.Time, audit []storage.AuditEntry) error {
	const op = "sqlite.RequeueWebhookDelivery"
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET delivered_at = 0, gave_up = 0, next_attempt_at = ? WHERE id = ?`, nanos(at), id)
		if err != nil {
			return dbErr(op, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", id)
		}
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err == nil {
		copy(audit, sealed)
	}
	return err
}

// GetWebhookDelivery implements storage.WebhookStore.
func (s *Store) GetWebhookDelivery(ctx context.Context, id string) (*storage.WebhookDelivery, error) {
	const op = "sqlite.GetWebhookDelivery"
	d, err := scanDelivery(s.readRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", id)
	} else if err != nil {
		return nil, dbErr(op, err)
	}
	return &d, nil
}

// ListWebhookDeliveries implements storage.WebhookStore.
func (s *Store) ListWebhookDeliveries(ctx context.Context, subscriptionID string, afterSeq int64, limit int) ([]storage.WebhookDelivery, error) {
	const op = "sqlite.ListWebhookDeliveries"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE subscription_id = ? AND seq > ? ORDER BY seq LIMIT ?`, subscriptionID, afterSeq, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanDeliveries(op, rows)
}

// ListWebhookAttempts implements storage.WebhookStore.
func (s *Store) ListWebhookAttempts(ctx context.Context, deliveryID string) ([]storage.WebhookAttempt, error) {
	const op = "sqlite.ListWebhookAttempts"
	rows, err := s.r.QueryContext(ctx, `SELECT at, status, error, duration_ns FROM webhook_attempts WHERE delivery_id = ? ORDER BY n`, deliveryID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []storage.WebhookAttempt
	for rows.Next() {
		a := storage.WebhookAttempt{DeliveryID: deliveryID}
		var at, dur int64
		if err := rows.Scan(&at, &a.StatusCode, &a.Error, &dur); err != nil {
			return nil, dbErr(op, err)
		}
		a.At, a.Duration = unnanos(at), time.Duration(dur)
		out = append(out, a)
	}
	return out, dbErr(op, rows.Err())
}
