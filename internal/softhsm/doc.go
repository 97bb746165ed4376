// Package softhsm makes SoftHSM2 tokens for tests: a token in a temporary
// directory, keys generated inside it and their certificates (from
// internal/testpki) stored beside them, the way a CA-issued IC card or HSM
// holds them. It needs cgo (it provisions through crypto11), softhsm2-util
// and libsofthsm2.so (Debian package softhsm2); when they are missing the
// test is skipped, or fails under CI=true (internal/testenv).
package softhsm
