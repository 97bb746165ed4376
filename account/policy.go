package account

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"

	"github.com/keiyaku/keiyaku/kerr"
)

// Causes of a refused new password (NIST SP 800-63B-4 §3.1.1.2: verifiers
// compare a new password against a blocklist of breached and common
// passwords, dictionary words, repetitive or sequential characters and
// context-specific words such as the user name). Each refusal is
// kerr.Invalid wrapping one of them.
var (
	// ErrPasswordLength: shorter than MinPasswordLen or longer than
	// MaxPasswordLen bytes, or not valid UTF-8.
	ErrPasswordLength = errors.New("password length")
	// ErrPasswordCommon: the password is, or is mostly, a commonly used
	// or breached password.
	ErrPasswordCommon = errors.New("password is commonly used or appears in breaches")
	// ErrPasswordPersonal: the password is made of the login ID or the
	// company name.
	ErrPasswordPersonal = errors.New("password is made of the login ID or company name")
	// ErrPasswordPattern: the password is made of repeated or sequential
	// characters or keyboard runs.
	ErrPasswordPattern = errors.New("password is made of repeated or sequential characters")
	// ErrPasswordGuessable: the password is made of words, dates or other
	// parts an attacker tries early.
	ErrPasswordGuessable = errors.New("password is too easy to guess")
)

// MinPasswordGuesses is the estimated number of guesses below which
// CheckPassword refuses a password: 10^8, zxcvbn's score 3 ("safely
// unguessable: moderate protection from offline slow-hash scenario"),
// the level at which an attacker who stole the argon2id hashes must spend
// real work, while online guessing is throttled far below it.
const MinPasswordGuesses = 1e8

// CheckPassword applies the password policy to a new password of a user
// with the given login ID and company name (either may be empty): length
// MinPasswordLen to MaxPasswordLen bytes of UTF-8 (ErrPasswordLength),
// then an estimate of how many guesses the password resists, refusing
// fewer than MinPasswordGuesses with the main reason: ErrPasswordCommon,
// ErrPasswordPersonal, ErrPasswordPattern or ErrPasswordGuessable. Every
// refusal is kerr.Invalid.
//
// The estimate is zxcvbn's (github.com/trustelem/zxcvbn, MIT, a Go port of
// Dropbox's zxcvbn whose frequency lists are embedded in the binary): it
// splits a password into the cheapest sequence of dictionary words (30 000
// passwords from breach corpora, English words, names, TV and film words,
// each also reversed and with l33t substitutions), the user's own words,
// repeats, sequences (abc, 1234), keyboard runs (qwerty), dates and
// brute-force runs. A library with real breach frequency data is used
// rather than a hand-made list so that "Password1!" and "p@ssw0rd2026"
// are caught as well as "password". Refusing by estimated guesses, not by
// composition rules, is what SP 800-63B-4 §3.1.1.2 asks for.
func CheckPassword(password, loginID, companyName string) error {
	const op = "account.CheckPassword"
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen || !utf8.ValidString(password) {
		return kerr.MW(kerr.Invalid, op, "password.length", "the new password must be {min} to {max} bytes of text: choose one of that length", ErrPasswordLength,
			kerr.P("min", MinPasswordLen), kerr.P("max", MaxPasswordLen))
	}
	words := userWords(loginID, companyName)
	r := zxcvbn.PasswordStrength(password, words)
	if r.Guesses >= MinPasswordGuesses {
		// zxcvbn matches the user's words only in ASCII; a password
		// that is the company name 株式会社ケイヤク plus a year would pass.
		// What is left once the user's words are taken out must stand
		// on its own.
		rest, found := strings.ToLower(password), false
		for _, w := range words {
			if strings.Contains(rest, w) {
				rest, found = strings.ReplaceAll(rest, w, ""), true
			}
		}
		if !found || zxcvbn.PasswordStrength(rest, nil).Guesses >= MinPasswordGuesses {
			return nil
		}
		return kerr.MW(kerr.Invalid, op, "password.personal", "the new password is built on your login ID or company name: choose one that is not", ErrPasswordPersonal)
	}
	cause := weakness(r.Sequence)
	return kerr.MW(kerr.Invalid, op, "password.weak", "the new password is too easy to guess: choose another (a longer phrase of unrelated words works well)", cause)
}

// userWords are the context-specific words of SP 800-63B-4: the login ID,
// the company name, and their parts.
func userWords(loginID, companyName string) []string {
	words := []string{"keiyaku"}
	for _, s := range []string{loginID, companyName} {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		words = append(words, s)
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("._@- 　", r) }) {
			if utf8.RuneCountInString(part) >= 3 {
				words = append(words, part)
			}
		}
	}
	return words
}

// weakness names the kind of match that covers most of the password.
func weakness(seq []*match.Match) error {
	covered := map[error]int{}
	for _, m := range seq {
		n := utf8.RuneCountInString(m.Token)
		switch {
		case m.Pattern == "dictionary" && m.DictionaryName == "user_inputs":
			covered[ErrPasswordPersonal] += n
		case m.Pattern == "dictionary" && m.DictionaryName == "passwords":
			covered[ErrPasswordCommon] += n
		case m.Pattern == "repeat" || m.Pattern == "sequence" || m.Pattern == "spatial":
			covered[ErrPasswordPattern] += n
		default:
			covered[ErrPasswordGuessable] += n
		}
	}
	best, most := ErrPasswordGuessable, 0
	// A fixed order so that ties are decided the same way every time.
	for _, e := range []error{ErrPasswordPersonal, ErrPasswordCommon, ErrPasswordPattern, ErrPasswordGuessable} {
		if covered[e] > most {
			best, most = e, covered[e]
		}
	}
	return best
}
