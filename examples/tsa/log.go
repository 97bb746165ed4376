package main

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/timestamp"
)

// maxLoggedReply bounds the reply kept to log it; a TimeStampResp with
// its certificates is a few KiB.
const maxLoggedReply = 1 << 20

// logRequests logs one line per request (slog, level INFO): the token's
// serial and policy, the digest algorithm of the request, the status of
// the TimeStampResp (granted, rejection, ... with its failure info) and the
// remote address. It reads the request body once (at most
// timestamp.MaxRequestSize bytes more than the Authority would) and keeps
// a copy of the reply to read what was answered.
func logRequests(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(io.LimitReader(r.Body, timestamp.MaxRequestSize+1))
			if err == nil {
				body = b
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
		}
		rec := &recorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		attrs := []any{"remote", r.RemoteAddr, "method", r.Method, "http_status", rec.code, "digest_algorithm", requestDigest(body)}
		der, err := timestamp.ParseResponse(rec.body.Bytes())
		var se *timestamp.StatusError
		switch {
		case err == nil:
			attrs = append(attrs, "status", "granted")
			if tok, err := timestamp.Parse(der); err == nil {
				attrs = append(attrs, "serial", tok.Serial.String(), "policy", tok.Policy.String())
			}
		case errors.As(err, &se):
			attrs = append(attrs, "status", statusName(se.Status), "fail_info", se.FailInfo, "text", se.Text)
		default:
			attrs = append(attrs, "status", "no TimeStampResp")
		}
		log.InfoContext(r.Context(), "timestamp request", attrs...)
	})
}

// recorder passes a reply through and keeps a copy of its body.
type recorder struct {
	http.ResponseWriter
	code int
	body bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.body.Len()+len(b) <= maxLoggedReply {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

// requestDigest names the hash algorithm of a TimeStampReq's
// messageImprint (RFC 3161 §2.4.1), its OID when the hash is unknown, or
// "unreadable".
func requestDigest(body []byte) string {
	var req struct {
		Version        int
		MessageImprint struct {
			HashAlgorithm pkix.AlgorithmIdentifier
			HashedMessage []byte
		}
		Rest []asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(body, &req); err != nil {
		return "unreadable"
	}
	oid := req.MessageImprint.HashAlgorithm.Algorithm
	if h, err := cms.HashFromOID(oid); err == nil {
		return h.String()
	}
	return oid.String()
}

// statusName names a PKIStatus (RFC 3161 §2.4.2).
func statusName(s int) string {
	switch s {
	case timestamp.StatusGranted:
		return "granted"
	case timestamp.StatusGrantedWithMods:
		return "grantedWithMods"
	case timestamp.StatusRejection:
		return "rejection"
	case 3:
		return "waiting"
	case 4:
		return "revocationWarning"
	case 5:
		return "revocationNotification"
	}
	return "unknown"
}
