package httpapi

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/bulkverify"
	"github.com/keiyaku/keiyaku/kerr"
)

// DefaultMaxBulkCases is how many completed cases one synchronous
// POST /v1/bulk-verifications covers at most when Config.MaxBulkCases is
// zero: the answer waits for the whole run (each case costs a PAdES
// validation of its sealed PDF), so a larger period is split by the
// client.
const DefaultMaxBulkCases = 1000

// bulkLimit is a bulkverify.Sink that refuses the run past max distinct
// cases, before their rows reach next.
type bulkLimit struct {
	next  bulkverify.Sink
	max   int
	cases int
	last  string
}

func (b *bulkLimit) Row(r *bulkverify.Row) error {
	if r.CaseID != b.last {
		b.last = r.CaseID
		b.cases++
		if b.cases > b.max {
			return problemf(pInvalid, "more than "+strconv.Itoa(b.max)+" cases",
				fieldError{pointer: "/completed_from", detail: "the period holds more than " + strconv.Itoa(b.max) + " completed cases, the most one request verifies: split the period (e.g. by month)"})
		}
	}
	return b.next.Row(r)
}

func (b *bulkLimit) Close(s *bulkverify.Summary) error { return b.next.Close(s) }

// wants reports whether the Accept header names media type mt.
func wants(r *http.Request, mt string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		t, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(t), mt) {
			return true
		}
	}
	return false
}

// BulkVerify runs bulkverify synchronously into a temporary file (the
// report of 1,000 cases may be tens of megabytes; it is never held in
// memory) and sends it once the run has finished, so that a run stopped
// by an error is a problem document, not half a report.
func (s *server) BulkVerify(ctx context.Context, req BulkVerifyRequestObject) (BulkVerifyResponseObject, error) {
	const op = "httpapi.bulkVerify"
	ri := info(ctx)
	var breq bulkverify.Request
	if d := req.Body.CompletedFrom; d != nil {
		breq.CompletedFrom = civil.DateOf(d.Time.UTC())
	}
	if d := req.Body.CompletedTo; d != nil {
		breq.CompletedTo = civil.DateOf(d.Time.UTC())
	}
	if !breq.CompletedFrom.IsZero() && !breq.CompletedTo.IsZero() && breq.CompletedTo.Before(breq.CompletedFrom) {
		return nil, problemf(pInvalid, "completed_to before completed_from", fieldError{pointer: "/completed_to", detail: "completed_to is before completed_from"})
	}
	f, err := os.CreateTemp("", "keiyaku-bulk-*")
	if err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "temporary file", err)
	}
	os.Remove(f.Name()) // gone when closed; the open file stays readable
	ctype := "application/json"
	var sink bulkverify.Sink
	switch {
	case wants(ri.r, "text/csv"):
		ctype, sink = "text/csv; charset=utf-8", bulkverify.NewCSVWriter(f)
	case wants(ri.r, "application/pdf"):
		ctype, sink = "application/pdf", bulkverify.NewPDFWriter(f, "一括検証 Bulk verification")
	default:
		sink = bulkverify.NewJSONWriter(f)
	}
	max := s.h.maxBulk
	if _, err := s.svc().Bulk.Run(ctx, ri.p, &breq, &bulkLimit{next: sink, max: max}); err != nil {
		f.Close()
		return nil, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, kerr.WrapKind(kerr.Unavailable, op, "temporary file", err)
	}
	return bulkResponse{f: f, size: size, ctype: ctype}, nil
}

type bulkResponse struct {
	f     *os.File
	size  int64
	ctype string
}

func (b bulkResponse) VisitBulkVerifyResponse(w http.ResponseWriter) error {
	defer b.f.Close()
	w.Header().Set("Content-Type", b.ctype)
	w.Header().Set("Content-Length", strconv.FormatInt(b.size, 10))
	w.WriteHeader(http.StatusOK)
	_, err := io.Copy(w, b.f)
	return err
}
