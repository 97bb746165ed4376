package testpki

import (
	"os/exec"
	"testing"
)

// NSSDB creates an NSS database in dir with Root trusted for signing
// ("CT,C,C"), Intermediate known, and each of signers imported with its key
// under nickname Name. It returns the value for poppler's -nssdir option,
// "sql:"+dir, so `pdfsig -nssdir sql:DIR file.pdf` trusts this PKI and
// `pdfsig -nssdir sql:DIR -add-signature -nick NAME` signs with a signer.
// The database has an empty password. Sign with an RSA signer: pdfsig
// 22.12 -add-signature fails intermittently with ECDSA keys. It needs certutil and pk12util
// (libnss3-tools) and openssl; see RequireTool for when it skips.
func (p *PKI) NSSDB(tb testing.TB, dir string, signers ...*Cert) string {
	tb.Helper()
	certutil := RequireTool(tb, "certutil")
	pk12util := RequireTool(tb, "pk12util")
	db := "sql:" + dir
	run := func(name string, args ...string) {
		tb.Helper()
		if b, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			tb.Fatalf("testpki: %s %v: %v\n%s", name, args, err, b)
		}
	}
	run(certutil, "-N", "-d", db, "--empty-password")
	f := p.WritePEM(tb, dir, p.Root)
	run(certutil, "-A", "-d", db, "-n", "keiyaku-test-root", "-t", "CT,C,C", "-a", "-i", f.Root)
	fi := p.WritePEM(tb, dir, p.Intermediate)
	run(certutil, "-A", "-d", db, "-n", "keiyaku-test-intermediate", "-t", ",,", "-a", "-i", fi.Cert)
	const pw = "nss-import"
	for _, s := range signers {
		p12 := p.WritePKCS12(tb, dir, s, pw)
		run(pk12util, "-i", p12, "-d", db, "-W", pw, "-K", "")
	}
	return db
}
