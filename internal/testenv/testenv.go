// Package testenv gives tests the addresses of the external things they need
// (the signed-PDF corpus, PostgreSQL, S3, SMTP, poppler's pdfsig, ...).
//
// A test asks for what it needs; when it is missing the test is skipped with
// a message that names the variable or the package to install. Under CI
// (CI=true, set by .ci/run) a missing dependency fails the test instead, so
// that CI always runs every test.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run under .ci/run, where every dependency
// must be present.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test with the reason, or fails it under CI.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true and a test dependency is missing: %s", reason)
	}
	t.Skip(reason)
}

// Env returns the value of the environment variable name, or skips (fails
// under CI) with a message saying what the variable is for.
func Env(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, name+" is not set: it must give "+what)
	}
	return v
}

// Command returns the path of the executable name, or skips (fails under CI)
// naming the Debian package that provides it.
func Command(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not found on PATH: install the Debian package "+debianPackage)
	}
	return p
}

// Corpus returns the directory of the signed-PDF corpus (KEIYAKU_CORPUS).
func Corpus(t testing.TB) string {
	t.Helper()
	return Env(t, "KEIYAKU_CORPUS", "the signed-PDF corpus directory (../shared/corpus)")
}
