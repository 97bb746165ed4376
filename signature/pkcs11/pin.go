package pkcs11

import (
	"io"
	"os"
	"strings"

	"github.com/keiyaku/keiyaku/kerr"
)

// maxPINFile bounds a PIN file: a PIN is at most a few dozen bytes.
const maxPINFile = 4096

// ReadPIN returns the PIN from the first line of file (without the line
// end) or from the environment variable env. Exactly one of them must be
// given; an empty PIN, a missing file or an unset variable is an error of
// kind kerr.Invalid. A PIN is never taken from a command-line flag, which
// every user of the machine can read in the process list.
func ReadPIN(file, env string) (string, error) {
	const op = "pkcs11.ReadPIN"
	switch {
	case file != "" && env != "":
		return "", kerr.E(kerr.Invalid, op, "give the PIN in a file or in an environment variable, not both")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", kerr.E(kerr.Invalid, op, "read the PIN file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxPINFile+1))
		if err != nil {
			return "", kerr.E(kerr.Invalid, op, "read the PIN file: %w", err)
		}
		if len(b) > maxPINFile {
			return "", kerr.E(kerr.Invalid, op, "%s is larger than %d bytes: it must hold the PIN on its first line", file, maxPINFile)
		}
		pin := strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
		if pin == "" {
			return "", kerr.E(kerr.Invalid, op, "the first line of %s is empty: write the token's user PIN there", file)
		}
		return pin, nil
	case env != "":
		pin := os.Getenv(env)
		if pin == "" {
			return "", kerr.E(kerr.Invalid, op, "environment variable %s is not set or empty: set it to the token's user PIN", env)
		}
		return pin, nil
	}
	return "", kerr.E(kerr.Invalid, op, "no PIN given: name a PIN file or an environment variable that holds it")
}
