package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Pool is the Store's connection pool, for the job runner (package jobs)
// that keeps its tables in the same database. It stays the Store's: do not
// close it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
