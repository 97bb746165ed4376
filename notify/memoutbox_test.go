package notify_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/notify"
)

// memOutbox implements notify.Outbox with a slice and a mutex, following
// the interface contract, for these tests; the SQLite outbox lives in
// storage/sqlite. It does not model the lapse of a claim: a claimed row
// stays invisible until it is marked.
type memOutbox struct {
	mu   sync.Mutex
	rows []*outboxRow
}

type outboxRow struct {
	msg     notify.Message
	seq     int
	claimed bool
	sentAt  time.Time
	gaveUp  bool
	lastErr string
}

var errNoRow = errors.New("memOutbox: no such message")

func newMemOutbox(msgs ...notify.Message) *memOutbox {
	o := &memOutbox{}
	for i, m := range msgs {
		o.rows = append(o.rows, &outboxRow{msg: m, seq: i})
	}
	return o
}

func (o *memOutbox) Claim(ctx context.Context, now time.Time, limit int) ([]notify.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fmt.Errorf("memOutbox: limit %d", limit)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []*outboxRow
	for _, r := range o.rows {
		if !r.claimed && r.sentAt.IsZero() && !r.gaveUp && !r.msg.NextAttemptAt.After(now) {
			due = append(due, r)
		}
	}
	sort.SliceStable(due, func(i, j int) bool {
		if !due[i].msg.NextAttemptAt.Equal(due[j].msg.NextAttemptAt) {
			return due[i].msg.NextAttemptAt.Before(due[j].msg.NextAttemptAt)
		}
		return due[i].seq < due[j].seq
	})
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]notify.Message, 0, len(due))
	for _, r := range due {
		r.claimed = true
		out = append(out, r.msg)
	}
	return out, nil
}

func (o *memOutbox) settle(id string) (*outboxRow, error) {
	for _, r := range o.rows {
		if r.msg.ID == id {
			if !r.claimed {
				return nil, fmt.Errorf("memOutbox: %s settled without a claim", id)
			}
			r.claimed = false
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", errNoRow, id)
}

func (o *memOutbox) MarkSent(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.settle(id)
	if err != nil {
		return err
	}
	r.sentAt = at
	return nil
}

func (o *memOutbox) MarkFailed(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.settle(id)
	if err != nil {
		return err
	}
	r.msg.Attempts = attempts
	r.msg.NextAttemptAt = next
	r.gaveUp = next.IsZero()
	r.lastErr = lastErr
	return nil
}

// row returns a copy of the row with the given id.
func (o *memOutbox) row(id string) outboxRow {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range o.rows {
		if r.msg.ID == id {
			return *r
		}
	}
	return outboxRow{}
}
