package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/internal/fifo"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// IdempotencyTTL is how long an answer is kept for a repeated
// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header), from the
// first request.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyLease is how long a request with an Idempotency-Key holds
// the key before it is answered: a repeat within it is 409 (in flight);
// after it, as when the process that took the key died, the key may be
// taken again.
const IdempotencyLease = 10 * time.Minute

// maxStoredAnswer bounds the answer body kept for a key; a larger answer
// (none of the API's POST answers is) is not kept and the key may be used
// again.
const maxStoredAnswer = storage.MaxIdempotencyBody

// secretAnswer reports whether the answer to r carries a secret (a
// session token, an API token's secret): such answers are never written
// to the database (secrets are kept only hashed at rest), so their keys
// are remembered in this process's memory alone.
func secretAnswer(r *http.Request) bool {
	return r.URL.Path == "/v1/sessions" || r.URL.Path == "/v1/me/tokens"
}

// serveIdempotent serves a POST with an Idempotency-Key. The key, the
// caller, the method and path, the SHA-256 of the body and the answer
// are kept in the service's store (storage.IdempotencyStore), so that
// every process over one database agrees: the same key and body get the
// first answer again (Idempotent-Replayed: true), another body 422, a
// repeat while the first is in flight 409. An answer of 5xx, one larger
// than maxStoredAnswer, or a request whose body could not be read whole
// frees the key.
func (h *API) serveIdempotent(w http.ResponseWriter, r *http.Request, ri *reqInfo) {
	if secretAnswer(r) {
		h.idem.serve(w, r, ri, h)
		return
	}
	const op = "httpapi.idempotency"
	st := h.svc.Store
	now := h.svc.Archive.Now()
	rec := &storage.IdempotencyRecord{Principal: ri.p.UserID, Request: r.Method + " " + r.URL.RequestURI(), Key: r.Header.Get("Idempotency-Key"),
		CreatedAt: now, ExpiresAt: now.Add(IdempotencyLease)}
	if rec.Principal == "" {
		rec.Principal = "anonymous " + ri.addr
	}
	live, err := st.BeginIdempotent(r.Context(), rec, now)
	if err != nil {
		writeProblem(w, r, h.log, kerr.Wrap(op, err))
		return
	}
	if live != nil {
		if live.Status == 0 {
			writeProblem(w, r, h.log, problemf(pIdemInFlight, "key in flight"))
			return
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, r.Body); err != nil {
			writeProblem(w, r, h.log, err)
			return
		}
		if !bytes.Equal(sum.Sum(nil), live.RequestHash) {
			writeProblem(w, r, h.log, problemf(pIdemReused, "same key, other body"))
			return
		}
		for k, v := range live.Header {
			w.Header()[k] = v
		}
		w.Header().Set("X-Request-Id", ri.id)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(live.Status)
		_, _ = w.Write(live.Body)
		return
	}

	sum := sha256.New()
	r.Body = &teeBody{rc: r.Body, h: sum}
	rec2 := &recorder{ResponseWriter: w}
	h.api.ServeHTTP(rec2, r)
	// The hash must cover the whole body, also when the operation
	// stopped reading early.
	_, drainErr := io.Copy(io.Discard, r.Body)
	// The answer is given; keeping it must not depend on the client
	// staying.
	ctx := context.WithoutCancel(r.Context())
	if drainErr != nil || rec2.status >= 500 || rec2.overflow {
		if err := st.ReleaseIdempotent(ctx, rec.Principal, rec.Request, rec.Key); err != nil {
			h.log.ErrorContext(ctx, "idempotency: releasing a key", "err", err)
		}
		return
	}
	hdr := rec2.Header().Clone()
	hdr.Del("X-Request-Id")
	hdr.Del("Set-Cookie")
	rec.RequestHash, rec.Status, rec.Header, rec.Body = sum.Sum(nil), rec2.status, hdr, rec2.buf.Bytes()
	rec.ExpiresAt = rec.CreatedAt.Add(IdempotencyTTL)
	if err := st.FinishIdempotent(ctx, rec); err != nil {
		// The lease ran out and another request took the key: that
		// one's answer stands.
		h.log.WarnContext(ctx, "idempotency: keeping the answer", "err", err)
	}
}

// idempotency is the in-memory form, for the answers that carry a
// secret (secretAnswer): per caller, method, path and key, the hash of
// the request body and the answer given, in a bounded
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
	now := h.svc.Archive.Now()
	key := caller + "\x00" + r.Method + " " + r.URL.RequestURI() + "\x00" + r.Header.Get("Idempotency-Key")
	i.mu.Lock()
	e, seen := i.entries.Get(key)
	if seen && now.Sub(e.at) > IdempotencyTTL {
		seen = false
	}
	var snap idemEntry
	if seen {
		snap = *e
	} else {
		e = &idemEntry{at: now}
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
