package ers_test

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/timestamp"
)

// bcJars are Debian libbcpkix-java's jars (Bouncy Castle 1.72).
var bcJars = []string{"/usr/share/java/bcprov.jar", "/usr/share/java/bcutil.jar", "/usr/share/java/bcpkix.jar"}

// CheckWithBouncyCastle runs testdata/ERSVerify.java (Bouncy Castle's
// org.bouncycastle.tsp.ers) on each record with its data object and
// returns its verdict line per record: "OK" or the failure. It skips (fails
// under CI) when java or the jars are missing.
func CheckWithBouncyCastle(t testing.TB, recs []*ers.EvidenceRecord, data [][]byte) []string {
	t.Helper()
	java := testenv.Command(t, "java", "default-jre-headless")
	for _, j := range bcJars {
		if _, err := os.Stat(j); err != nil {
			testenv.Missing(t, j+" is missing: install the Debian package libbcpkix-java")
		}
	}
	src, err := filepath.Abs("testdata/ERSVerify.java")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Every timestamp here is before testpki.Now + 10 years.
	at := testpki.Now.AddDate(10, 0, 0).UnixMilli()
	args := []string{"-cp", strings.Join(bcJars, ":"), src, fmt.Sprint(at)}
	for i, rec := range recs {
		der, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		rp, dp := filepath.Join(dir, fmt.Sprintf("r%d.ers", i)), filepath.Join(dir, fmt.Sprintf("d%d.bin", i))
		if err := os.WriteFile(rp, der, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dp, data[i], 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, rp, dp)
	}
	out, err := exec.Command(java, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("java printed %d lines for %d records:\n%s", len(lines), len(recs), out)
	}
	verdicts := make([]string, len(lines))
	for i, l := range lines {
		if strings.HasPrefix(l, "OK ") {
			verdicts[i] = "OK"
		} else {
			verdicts[i] = l
		}
	}
	return verdicts
}

// CheckWithOpenSSL runs `openssl ts -verify` on every archive timestamp of
// rec at its own time: signature, ESS binding and chain to the root.
func CheckWithOpenSSL(t testing.TB, p *testpki.PKI, rec *ers.EvidenceRecord) {
	t.Helper()
	bin := testenv.Command(t, "openssl", "openssl")
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root.Cert.Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	for c, chain := range rec.Chains {
		for j, a := range chain {
			tok, err := timestamp.Parse(a.TimeStamp)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, fmt.Sprintf("c%d-%d.tst", c, j))
			if err := os.WriteFile(name, a.TimeStamp, 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"ts", "-verify", "-token_in", "-in", name, "-digest", hex.EncodeToString(tok.HashedMessage),
				"-CAfile", filepath.Join(dir, "ca.pem"), "-attime", fmt.Sprint(tok.Time.Unix())}
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl ts -verify of chain %d stamp %d: %v\n%s", c, j, err, out)
			}
			// And it refuses the token for another digest.
			other := bytes.Clone(tok.HashedMessage)
			other[0] ^= 1
			args[6] = hex.EncodeToString(other)
			if err := exec.Command(bin, args...).Run(); err == nil {
				t.Fatalf("openssl verified chain %d stamp %d for another digest", c, j)
			}
		}
	}
}

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
	for i, v := range CheckWithBouncyCastle(t, recs, data) {
		if v != "OK" {
			t.Errorf("Bouncy Castle refuses record %d: %s", i, v)
		}
	}
	// Bouncy Castle refuses each record for a changed object.
	changed := make([][]byte, len(data))
	for i, d := range data {
		changed[i] = append(bytes.Clone(d), '!')
	}
	for i, v := range CheckWithBouncyCastle(t, recs, changed) {
		if v == "OK" {
			t.Errorf("Bouncy Castle accepts record %d for a changed object", i)
		}
	}
	for _, rec := range recs {
		CheckWithOpenSSL(t, p, rec)
	}
}
