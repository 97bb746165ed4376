package timestamp_test

import (
	"bytes"
	"context"
	"crypto"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keiyaku/keiyaku/timestamp"
)

func FuzzParse(f *testing.F) {
	p := newTestPKI(f)
	a := p.authority(f, p.tsa)
	for _, certReq := range []bool{true, false} {
		tok, err := a.Timestamp(context.Background(), crypto.SHA256, sha256Of(document), &timestamp.TimestampOptions{CertReq: certReq, Nonce: big.NewInt(7)})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok.Raw)
	}
	f.Add([]byte{0x30, 0x80, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := timestamp.Parse(b)
		if err != nil {
			return
		}
		if tok.Serial == nil || len(tok.HashedMessage) != tok.Hash.Size() {
			t.Fatalf("Parse returned an incomplete token: %+v", tok)
		}
		_, _ = timestamp.Verify(b, tok.HashedMessage, &timestamp.VerifyOptions{Roots: p.roots})
	})
}

func FuzzParseResponse(f *testing.F) {
	p := newTestPKI(f)
	srv := httptest.NewServer(p.authority(f, p.tsa))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL, timestamp.ContentTypeQuery, bytes.NewReader([]byte("bad")))
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00})
	f.Add([]byte{0x30, 0x0a, 0x30, 0x08, 0x02, 0x01, 0x02, 0x03, 0x03, 0x06, 0x00, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = timestamp.ParseResponse(b)
	})
}

// FuzzAuthorityRequest feeds arbitrary request bodies to ServeHTTP: every
// answer must be a well-formed TimeStampResp.
func FuzzAuthorityRequest(f *testing.F) {
	p := newTestPKI(f)
	a := p.authority(f, p.tsa)
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte("\x30\x31\x02\x01\x01\x30\x2c\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x04\x1d" + "0123456789012345678901234567A"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", timestamp.ContentTypeQuery)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d", rec.Code)
		}
		if _, err := timestamp.ParseResponse(rec.Body.Bytes()); err != nil && !isRejected(err) {
			t.Fatalf("answer is not a TimeStampResp: %v", err)
		}
	})
}

func isRejected(err error) bool {
	_, ok := err.(*timestamp.StatusError)
	return ok
}
