// Package erstest checks RFC 4998 evidence records with implementations
// nobody here wrote, for tests: Bouncy Castle's org.bouncycastle.tsp.ers
// (Debian libbcpkix-java 1.72, run by java as a single-file source program)
// and openssl ts -verify. A missing java, jar or openssl skips the test
// (fails it under CI=true, internal/testenv).
package erstest

import (
	"bytes"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/timestamp"
)

//go:embed ERSVerify.java
var ersVerifyJava []byte

// bcJars are Debian libbcpkix-java's jars (Bouncy Castle 1.72).
var bcJars = []string{"/usr/share/java/bcprov.jar", "/usr/share/java/bcutil.jar", "/usr/share/java/bcpkix.jar"}

// BouncyCastle runs ERSVerify.java (Bouncy Castle's
// org.bouncycastle.tsp.ers) on each record with its data object and
// returns its verdict line per record: "OK" or the failure. at is the
// time the data must have existed by (after every timestamp). It skips (fails
// under CI) when java or the jars are missing.
func BouncyCastle(t testing.TB, at time.Time, recs []*ers.EvidenceRecord, data [][]byte) []string {
	t.Helper()
	java := testenv.Command(t, "java", "default-jre-headless")
	for _, j := range bcJars {
		if _, err := os.Stat(j); err != nil {
			testenv.Missing(t, j+" is missing: install the Debian package libbcpkix-java")
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "ERSVerify.java")
	if err := os.WriteFile(src, ersVerifyJava, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-cp", strings.Join(bcJars, ":"), src, fmt.Sprint(at.UnixMilli())}
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

// OpenSSL runs `openssl ts -verify` on every archive timestamp of
// rec at its own time: signature, ESS binding and chain to the root.
func OpenSSL(t testing.TB, root *x509.Certificate, rec *ers.EvidenceRecord) {
	t.Helper()
	bin := testenv.Command(t, "openssl", "openssl")
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})
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
