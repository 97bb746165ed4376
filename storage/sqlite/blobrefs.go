package sqlite

import (
	"context"
	"strings"

	"github.com/keiyaku/keiyaku/storage"
)

var _ storage.BlobRefStore = (*Store)(nil)

// BlobsReferenced implements storage.BlobRefStore: one indexed lookup in
// blob_refs (filled by triggers on case_bodies, migration 00016).
func (s *Store) BlobsReferenced(ctx context.Context, keys []string) (map[string]bool, error) {
	const op = "sqlite.BlobsReferenced"
	if err := storage.CheckBlobRefs(op, keys); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM blob_refs WHERE key IN (?`+strings.Repeat(",?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, dbErr(op, err)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}
