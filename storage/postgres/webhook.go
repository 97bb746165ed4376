package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.WebhookStore = (*Store)(nil)

// queueWebhookDeliveries adds the deliveries of a case commit to its
// batch. A delivery naming no subscription fails the batch with the
// foreign-key violation (kerr.FailedPrecondition through dbErr).
func queueWebhookDeliveries(b *pgx.Batch, op string, ds []storage.WebhookDelivery) {
	for i := range ds {
		d := &ds[i]
		b.Queue(`INSERT INTO webhook_deliveries (id, subscription_id, company_id, type, case_id, body, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			d.ID, d.SubscriptionID, d.CompanyID, d.Type, d.CaseID, d.Body, nanos(d.CreatedAt), nanos(d.NextAttemptAt)).
			Exec(func(tag pgconn.CommandTag) error {
				if tag.RowsAffected() == 0 {
					return kerr.E(kerr.Conflict, op, "webhook delivery %q exists already", d.ID)
				}
				return nil
			})
	}
}

// checkWebhookText refuses what PostgreSQL text cannot hold.
func checkWebhookText(op string, w *storage.WebhookSubscription) error {
	if !storable(w.ID) || !storable(w.CompanyID) || !storable(w.URL) || !storable(w.Description) {
		return kerr.E(kerr.Invalid, op, "webhook fields may not hold NUL bytes")
	}
	for _, e := range w.Events {
		if !storable(e) {
			return kerr.E(kerr.Invalid, op, "webhook event types may not hold NUL bytes")
		}
	}
	return nil
}

// CreateWebhook implements storage.WebhookStore.
func (s *Store) CreateWebhook(ctx context.Context, w *storage.WebhookSubscription, max int, audit []storage.AuditEntry) error {
	const op = "postgres.CreateWebhook"
	if err := storage.CheckWebhook(op, w); err != nil {
		return err
	}
	if err := checkWebhookText(op, w); err != nil {
		return err
	}
	body, err := encode(op, w)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		// One subscriber at a time per company, so that the limit holds
		// under concurrent creation.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('keiyaku.webhooks.' || $1, 0))`, w.CompanyID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_subscriptions WHERE company_id = $1`, w.CompanyID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return kerr.E(kerr.FailedPrecondition, op, "company %q has %d webhook subscriptions, the most allowed: delete one first", w.CompanyID, n)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_subscriptions (id, company_id, created_at, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
			w.ID, w.CompanyID, nanos(w.CreatedAt), body)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	const op = "postgres.UpdateWebhook"
	if err := storage.CheckWebhook(op, w); err != nil {
		return err
	}
	if err := checkWebhookText(op, w); err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		var old []byte
		err := tx.QueryRow(ctx, `SELECT body FROM webhook_subscriptions WHERE id = $1 FOR UPDATE`, w.ID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "webhook subscription %q does not exist", w.ID)
		} else if err != nil {
			return err
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
		if _, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET body = $2 WHERE id = $1`, w.ID, body); err != nil {
			return err
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
	const op = "postgres.DeleteWebhook"
	if !storable(id) {
		return kerr.E(kerr.NotFound, op, "webhook subscription %q does not exist", id)
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	const op = "postgres.GetWebhook"
	if !storable(id) {
		return nil, kerr.E(kerr.NotFound, op, "webhook subscription %q does not exist", id)
	}
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM webhook_subscriptions WHERE id = $1`, id).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "webhook subscription %q does not exist", id)
	} else if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	var w storage.WebhookSubscription
	if err := decode(op, body, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// ListWebhooks implements storage.WebhookStore.
func (s *Store) ListWebhooks(ctx context.Context, companyID string) ([]storage.WebhookSubscription, error) {
	const op = "postgres.ListWebhooks"
	if !storable(companyID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT body FROM webhook_subscriptions WHERE company_id = $1 ORDER BY created_at, id`, companyID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []storage.WebhookSubscription
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var w storage.WebhookSubscription
		if err := decode(op, body, &w); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, dbErr(ctx, op, rows.Err())
}

const deliveryColumns = `seq, id, subscription_id, company_id, type, case_id, body, created_at, attempts, next_attempt_at, delivered_at, gave_up, last_status, last_error`

func scanDelivery(r pgx.Row) (storage.WebhookDelivery, error) {
	var d storage.WebhookDelivery
	var created, next, delivered int64
	err := r.Scan(&d.Seq, &d.ID, &d.SubscriptionID, &d.CompanyID, &d.Type, &d.CaseID, &d.Body, &created, &d.Attempts, &next, &delivered, &d.GaveUp, &d.LastStatus, &d.LastError)
	d.CreatedAt, d.NextAttemptAt, d.DeliveredAt = unnanos(created), unnanos(next), unnanos(delivered)
	return d, err
}

func scanDeliveries(rows pgx.Rows) ([]storage.WebhookDelivery, error) {
	defer rows.Close()
	var out []storage.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimWebhookDeliveries implements storage.WebhookStore.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]storage.WebhookDelivery, error) {
	const op = "postgres.ClaimWebhookDeliveries"
	if limit < 1 || limit > 1000 || lease <= 0 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d must be 1..1000 and lease %s positive", limit, lease)
	}
	var out []storage.WebhookDelivery
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE delivered_at = 0 AND NOT gave_up AND next_attempt_at <= $1 ORDER BY next_attempt_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED`, nanos(now), limit)
		if err != nil {
			return err
		}
		if out, err = scanDeliveries(rows); err != nil {
			return err
		}
		seqs := make([]int64, len(out))
		for i, d := range out {
			seqs[i] = d.Seq
		}
		if len(seqs) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE seq = ANY($2::bigint[])`, nanos(now.Add(lease)), seqs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecordWebhookAttempt implements storage.WebhookStore.
func (s *Store) RecordWebhookAttempt(ctx context.Context, a *storage.WebhookAttempt, delivered bool, next time.Time) error {
	const op = "postgres.RecordWebhookAttempt"
	if !storable(a.DeliveryID) {
		return kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", a.DeliveryID)
	}
	msg := storage.TrimWebhookError(a.Error)
	if !storable(msg) {
		msg = "(error text not storable)"
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		var attempts int
		err := tx.QueryRow(ctx, `SELECT attempts FROM webhook_deliveries WHERE id = $1 FOR UPDATE`, a.DeliveryID).Scan(&attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", a.DeliveryID)
		} else if err != nil {
			return err
		}
		attempts++
		var deliveredAt, nextAt int64
		gaveUp := false
		switch {
		case delivered:
			deliveredAt = nanos(a.At)
		case next.IsZero():
			gaveUp = true
		default:
			nextAt = nanos(next)
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE webhook_deliveries SET attempts = $1, last_status = $2, last_error = $3,
			delivered_at = $4, gave_up = $5, next_attempt_at = $6 WHERE id = $7`,
			attempts, a.StatusCode, msg, deliveredAt, gaveUp, nextAt, a.DeliveryID)
		b.Queue(`INSERT INTO webhook_attempts (delivery_id, n, at, status, error, duration_ns) VALUES ($1, $2, $3, $4, $5, $6)`,
			a.DeliveryID, attempts, nanos(a.At), a.StatusCode, msg, int64(a.Duration))
		b.Queue(`DELETE FROM webhook_attempts WHERE delivery_id = $1 AND n <= $2`, a.DeliveryID, attempts-storage.MaxWebhookAttempts)
		return tx.SendBatch(ctx, b).Close()
	})
}

// RequeueWebhookDelivery implements storage.WebhookStore.
func (s *Store) RequeueWebhookDelivery(ctx context.Context, id string, at time.Time, audit []storage.AuditEntry) error {
	const op = "postgres.RequeueWebhookDelivery"
	if !storable(id) {
		return kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", id)
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET delivered_at = 0, gave_up = false, next_attempt_at = $2 WHERE id = $1`, id, nanos(at))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	const op = "postgres.GetWebhookDelivery"
	if !storable(id) {
		return nil, kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", id)
	}
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "webhook delivery %q does not exist", id)
	} else if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return &d, nil
}

// ListWebhookDeliveries implements storage.WebhookStore.
func (s *Store) ListWebhookDeliveries(ctx context.Context, subscriptionID string, afterSeq int64, limit int) ([]storage.WebhookDelivery, error) {
	const op = "postgres.ListWebhookDeliveries"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	if !storable(subscriptionID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE subscription_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, subscriptionID, afterSeq, limit)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	out, err := scanDeliveries(rows)
	return out, dbErr(ctx, op, err)
}

// ListWebhookAttempts implements storage.WebhookStore.
func (s *Store) ListWebhookAttempts(ctx context.Context, deliveryID string) ([]storage.WebhookAttempt, error) {
	const op = "postgres.ListWebhookAttempts"
	if !storable(deliveryID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT at, status, error, duration_ns FROM webhook_attempts WHERE delivery_id = $1 ORDER BY n`, deliveryID)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []storage.WebhookAttempt
	for rows.Next() {
		a := storage.WebhookAttempt{DeliveryID: deliveryID}
		var at, dur int64
		if err := rows.Scan(&at, &a.StatusCode, &a.Error, &dur); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		a.At, a.Duration = unnanos(at), time.Duration(dur)
		out = append(out, a)
	}
	return out, dbErr(ctx, op, rows.Err())
}
