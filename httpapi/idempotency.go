package httpapi

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/internal/fifo"
)

// IdempotencyTTL is how long an answer is kept for a repeated
// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header).
const IdempotencyTTL = 24 * time.Hour

// maxStoredAnswer bounds the answer body kept for a key; a larger answer
// (none of the API's POST answers is) is not kept and the key may be used
// again.
const maxStoredAnswer = 1 << 20

// idempotency remembers, per caller, method, path and key, the hash of
// the request body and the answer given, in memory: a bounded
// first-in-first-out map of the newest keys (internal/fifo), so a
// process restart or more than its capacity of newer keys forgets a key.
// It is hand-written because no maintained Go library implements the
// draft over net/http with streaming bodies.
type idempotency struct {
	mu      sync.Mutex
	entries *fifo.Map[string, *idemEntry]
}

type idemEntry struct {
	bodyHash []byte // nil while the first request is in flight
	at       time.Time
	status   int
	header   http.Header
	body     []byte
}

func newIdempotency(n int) *idempotency {
	return &idempotency{entries: fifo.New[string, *idemEntry](n)}
}

func (i *idempotency) serve(w http.ResponseWriter, r *http.Request, ri *reqInfo, h *API) {
	caller := ri.p.UserID
	if caller == "" {
		caller = "anonymous " + ri.addr
	}
	key := caller + "\x00" + r.Method + " " + r.URL.RequestURI() + "\x00" + r.Header.Get("Idempotency-Key")
	i.mu.Lock()
	e, seen := i.entries.Get(key)
	if seen && time.Since(e.at) > IdempotencyTTL {
		seen = false
	}
	var snap idemEntry
	if seen {
		snap = *e
	} else {
		e = &idemEntry{at: time.Now()}
		i.entries.Set(key, e)
	}
	i.mu.Unlock()

	if seen {
		e := &snap
		if e.bodyHash == nil {
			writeProblem(w, r, h.log, problemf(pIdemInFlight, "key in flight"))
			return
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, r.Body); err != nil {
			writeProblem(w, r, h.log, err)
			return
		}
		if !bytes.Equal(sum.Sum(nil), e.bodyHash) {
			writeProblem(w, r, h.log, problemf(pIdemReused, "same key, other body"))
			return
		}
		for k, v := range e.header {
			w.Header()[k] = v
		}
		w.Header().Set("X-Request-Id", ri.id)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(e.status)
		_, _ = w.Write(e.body)
		return
	}

	sum := sha256.New()
	r.Body = &teeBody{rc: r.Body, h: sum}
	rec := &recorder{ResponseWriter: w}
	h.api.ServeHTTP(rec, r)
	// The hash must cover the whole body, also when the operation
	// stopped reading early.
	_, drainErr := io.Copy(io.Discard, r.Body)
	i.mu.Lock()
	defer i.mu.Unlock()
	if drainErr != nil || rec.status >= 500 || rec.overflow {
		i.entries.Set(key, &idemEntry{at: time.Time{}}) // expired: free the key
		return
	}
	e.header = rec.Header().Clone()
	e.status, e.body, e.bodyHash = rec.status, rec.buf.Bytes(), sum.Sum(nil)
}

type teeBody struct {
	rc io.ReadCloser
	h  hash.Hash
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	t.h.Write(p[:n])
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }

// recorder passes the answer through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.buf.Len()+len(p) > maxStoredAnswer {
		r.overflow = true
	} else {
		r.buf.Write(p)
	}
	return r.ResponseWriter.Write(p)
}
