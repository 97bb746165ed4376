package sqlite

import "context"

// GroupStats returns how many groups the store has committed and how many
// writes they held.
func GroupStats(s *Store) (groups, writes int64) { return s.groups.Load(), s.grouped.Load() }

// PanicInWrite runs a write that inserts an audit row and then panics.
func PanicInWrite(ctx context.Context, s *Store) {
	_ = s.write(ctx, "test", func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, at, actor_user, actor_company, remote_addr, action, case_id, detail, prev_hash, hash) VALUES (1, 0, '', '', '', 'x', '', '', x'', x'')`); err != nil {
			panic("insert failed: " + err.Error())
		}
		panic("boom")
	})
}
