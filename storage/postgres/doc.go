// Package postgres is a storage.Store on PostgreSQL (through pgx v5 and its
// connection pool), for a service that runs on many machines against one
// database; document bytes then go to a shared gocloud.dev/blob bucket.
//
// # Schema
//
// Everything lives in one schema (Config.Schema), created by Open if missing
// and brought up to date by embedded migrations run with pressly/goose v3,
// the tool the SQLite backend uses too. Every pooled connection has
// search_path set to that schema alone, so one database can hold several
// independent keiyaku stores. (Behind a connection pooler that drops
// start-up parameters, such as PgBouncer in transaction mode, set
// search_path for the role instead; Open checks that it took effect.)
//
// Times are stored as Unix nanoseconds (bigint), not timestamptz, because
// timestamptz keeps microseconds and the contract needs the exact time back
// (the audit hash covers it). Text columns use COLLATE "C", so names and IDs
// sort byte-wise as the contract says, whatever the database's collation.
//
// # Concurrency
//
// Every write is one transaction at READ COMMITTED, set explicitly whatever
// the server's default, with row locks taken by the statements themselves:
//
//   - An update is UPDATE ... WHERE id = $1 AND version = $2. The UPDATE
//     locks the row; a second writer naming the same version waits for the
//     first, then PostgreSQL re-checks its WHERE clause against the row the
//     first committed (READ COMMITTED's re-evaluation of updated rows), finds
//     the version moved on and updates nothing: kerr.Conflict. So of two
//     conflicting commits exactly one wins, with no retry loop.
//   - A create is INSERT ... ON CONFLICT (id) DO NOTHING; a concurrent
//     creator of the same ID waits on the unique index and inserts nothing:
//     kerr.Conflict.
//   - The audit log is one hash chain. Each append locks its head row
//     (audit_head, SELECT ... FOR UPDATE) as the last step before the
//     commit, which serialises appends in commit order, keeps Seq free of
//     gaps and lets a waiting writer read the head its predecessor
//     committed. Because every transaction takes the head last, after its
//     own row locks, lock order is the same everywhere and appends cannot
//     deadlock with one another.
//   - ClaimEvents selects due events FOR UPDATE SKIP LOCKED and moves their
//     NextAttemptAt forward by the lease in the same transaction, so
//     concurrent workers claim disjoint events without waiting.
//
// SERIALIZABLE with retries would also be correct, but every commit would
// then conflict on the audit head and be retried; the explicit locks above
// make the one point of contention a short, ordered wait instead.
//
// # Differences from SQLite
//
// PostgreSQL text cannot hold NUL bytes or invalid UTF-8. A record or query
// that carries them is refused with kerr.Invalid rather than stored.
// Substring filters (name, order number, counterparty name) are not indexed:
// they are checked on the cases in scope, as in the SQLite backend.
package postgres
