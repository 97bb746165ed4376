package ers_test

import (
	"bytes"
	"crypto"
	"testing"

	"github.com/keiyaku/keiyaku/archive/ers/erstest"
	"github.com/keiyaku/keiyaku/internal/testpki"
)

func TestBouncyCastleAndOpenSSLVerifyOurRecords(t *testing.T) {
	p := testpki.New(t)
	objs := objects(5)
	// 0-4: a batch of five; then 0-1 renewed twice (timestamp renewal),
	// 2-3 hash-tree renewed to SHA-512 and then timestamp renewed, 4
	// left as sealed.
	recs := seal(t, p, p.TSA, testpki.Now, crypto.SHA256, objs)
	renewTimestamps(t, p, p.TSA2, testpki.Now.AddDate(1, 0, 0), recs[:2])
	renewTimestamps(t, p, p.TSA2, testpki.Now.AddDate(2, 0, 0), recs[:2])
	renewHashTrees(t, p, p.TSA2, testpki.Now.AddDate(1, 0, 0), crypto.SHA512, recs[2:4], objs[2:4])
	renewTimestamps(t, p, p.TSA2, testpki.Now.AddDate(3, 0, 0), recs[2:4])
	single := seal(t, p, p.TSA, testpki.Now, crypto.SHA256, objs[:1])
	recs = append(recs, single...)
	data := append(append([][]byte{}, objs...), objs[0])
	for i, v := range erstest.BouncyCastle(t, testpki.Now.AddDate(10, 0, 0), recs, data) {
		if v != "OK" {
			t.Errorf("Bouncy Castle refuses record %d: %s", i, v)
		}
	}
	// Bouncy Castle refuses each record for a changed object.
	changed := make([][]byte, len(data))
	for i, d := range data {
		changed[i] = append(bytes.Clone(d), '!')
	}
	for i, v := range erstest.BouncyCastle(t, testpki.Now.AddDate(10, 0, 0), recs, changed) {
		if v == "OK" {
			t.Errorf("Bouncy Castle accepts record %d for a changed object", i)
		}
	}
	for _, rec := range recs {
		erstest.OpenSSL(t, p.Root.Cert, rec)
	}
}
