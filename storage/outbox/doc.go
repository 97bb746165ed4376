// Package outbox connects a storage.OutboxStore to notify's delivery
// Worker: it implements notify.Outbox over any backend, mapping the
// stored events (which casework writes in the same transaction as each
// state change) to notify.Message. Claims are leases
// (storage.OutboxStore.ClaimEvents), so delivery is at least once.
package outbox
