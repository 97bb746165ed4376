// Package failpoint crashes the process at named points, for tests that
// prove crash safety step by step (issue 11).
//
// A point is armed only by the environment variable KEIYAKU_FAILPOINT,
// read once when the process starts: "name" crashes at the first Hit of
// that point, "name@n" at the n-th. The process then kills itself with
// SIGKILL (os.Exit(137) where there is no SIGKILL): nothing deferred runs,
// no buffer is flushed, as in a power cut seen from the process (the
// kernel's page cache survives; see the README on fsync ordering). With
// the variable unset, Hit is one comparison of a string with "": no cost
// worth measuring, no build tag needed.
//
// A small package of our own rather than a library: the well-known ones
// (pingcap/failpoint, etcd's gofail) rewrite the source with a code
// generator, which an embeddable SDK cannot ask of its users' builds.
package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// Env names the environment variable that arms a point.
const Env = "KEIYAKU_FAILPOINT"

// The points, in the order one contract's lifecycle reaches them.
const (
	// RegisterStored: a registration's blobs are stored, its commit not
	// begun.
	RegisterStored = "register.stored"
	// RegisterCommitted: the registration is committed, the call not yet
	// returned.
	RegisterCommitted = "register.committed"
	// ReturnStored / ReturnCommitted: the same for a return.
	ReturnStored    = "return.stored"
	ReturnCommitted = "return.committed"
	// SealStamping: sealing is about to ask the TSA for a token (the local
	// TSA reserves a serial); SealStamped: it has the token.
	SealStamping = "seal.stamping"
	SealStamped  = "seal.stamped"
	// CompleteSealed: the sealed files are stored, the completion not yet
	// committed; CompleteCommitted: it is committed.
	CompleteSealed    = "complete.sealed"
	CompleteCommitted = "complete.committed"
	// CommitBegin: the embedded store is about to COMMIT a write group;
	// CommitDone: the COMMIT returned.
	CommitBegin = "sqlite.commit-begin"
	CommitDone  = "sqlite.commit-done"
	// OutboxSent: a notice was sent, its delivery not yet recorded.
	OutboxSent = "outbox.sent"
	// The steps of a retention deletion (casework.SweepRetention):
	// RetentionStamped, the deletion record is time-stamped, nothing
	// committed; RetentionRecorded, the record and its audit entry are
	// committed (the case is Deleting); RetentionBlobRemoved, one blob is
	// removed; RetentionBlobsRemoved, every blob is; RetentionFinished,
	// the case's rows are gone.
	RetentionStamped      = "retention.stamped"
	RetentionRecorded     = "retention.recorded"
	RetentionBlobRemoved  = "retention.blob-removed"
	RetentionBlobsRemoved = "retention.blobs-removed"
	RetentionFinished     = "retention.finished"
)

// RetentionPoints lists the retention deletion's points, in order.
var RetentionPoints = []string{RetentionStamped, RetentionRecorded, RetentionBlobRemoved, RetentionBlobsRemoved, RetentionFinished}

// All lists every point.
var All = []string{RegisterStored, RegisterCommitted, ReturnStored, ReturnCommitted, SealStamping, SealStamped,
	CompleteSealed, CompleteCommitted, CommitBegin, CommitDone, OutboxSent}

var (
	armed string // the armed point; "" when off
	at    int64  // crash at this hit
	hits  atomic.Int64
)

func init() {
	v := os.Getenv(Env)
	if v == "" {
		return
	}
	name, n, _ := strings.Cut(v, "@")
	at = 1
	if k, err := strconv.ParseInt(n, 10, 64); err == nil && k > 0 {
		at = k
	}
	armed = name
}

// Hit crashes the process if name is the armed point and this is the hit
// it was armed for.
func Hit(name string) {
	if armed == "" || name != armed {
		return
	}
	if hits.Add(1) == at {
		crash()
	}
}
