// Package storagetest is the conformance suite of the storage contract.
// Every backend runs it from its own tests with a harness that returns a
// fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return openTemp(t) })
//	}
//
// Run checks version conflicts, search filters in combination, order and
// cursor paging under every sort key, the atomic commit of a case with its
// audit entries and outbox events, that a cancelled write leaves nothing,
// that of concurrent conflicting commits exactly one wins, the audit hash
// chain, the outbox and the account records. RunBlobs checks the integrity
// guarantees of storage.Blobs on any gocloud.dev/blob bucket.
package storagetest
