package postgres

import (
	"context"

	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.BlobRefStore = (*Store)(nil)

// BlobsReferenced implements storage.BlobRefStore: one indexed lookup in
// blob_refs (filled by a trigger on case_bodies, migration 00016).
func (s *Store) BlobsReferenced(ctx context.Context, keys []string) (map[string]bool, error) {
	const op = "postgres.BlobsReferenced"
	if err := storage.CheckBlobRefs(op, keys); err != nil {
		return nil, err
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT key FROM blob_refs WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return out, nil
}
