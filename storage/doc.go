// Package storage is keiyaku's persistence contract: the Store interface a
// backend implements (cases, accounts, each user's hidden marks and private
// comments (PersonalStore), retention, legal holds and deletion records
// (RetentionStore), the hash-chained audit log, the
// notification outbox, webhook subscriptions and deliveries (WebhookStore)
// and reminder marks (ReminderStore)), the records it stores, and Blobs, content-addressed
// document storage on gocloud.dev/blob.
//
// The contract is written duty by duty in the interface comments and checked
// by storage/storagetest, a conformance suite every backend must pass.
// storage/sqlite is the embedded default. Records hold plain strings and
// numbers: which state may follow which, and who may see what, are domain
// rules that live in casework and account, never in a backend.
//
// # Transactions
//
// Every method that writes is one transaction: a case's new row, its audit
// entries and its outbox events commit together or not at all. A context
// cancelled before the commit leaves nothing behind. Optimistic concurrency:
// each mutable record carries a Version; a write naming a Version other than
// the stored one fails with kerr.Conflict and changes nothing.
//
// # Blobs
//
// Document bytes never go into a Store. Callers write them to Blobs first,
// keyed by their SHA-256, and only then commit the rows that name the key,
// so a row never points at a missing blob.
//
// Blobs are shared between cases (the same bytes, one key) and removed
// only by the retention sweep (RetentionStore). Two rules make that
// race-free: every blob write pins its key in the store first (Blobs.SetPin,
// RetentionStore.PinBlob), and the sweep marks a key for removal only in a
// transaction that finds no other case naming it (case_blobs, written by
// every commit) and no pin younger than PinTTL; and a pin of a key being
// removed is refused until the removal is done. On PostgreSQL the pin and
// the marking write the same blob_pins row, so one sees the other; the
// embedded SQLite store (one process) keeps pins in memory behind a mutex
// that the marking holds until its commit.
package storage
