package notify

import (
	"errors"

	"github.com/keiyaku/keiyaku/kerr"
)

// Errors reported by this package. Callers test them with errors.Is; each
// also carries a kerr kind, so errors.Is(err, kerr.Invalid) (for example)
// holds as well. Every returned error wraps one of them, or a kerr kind,
// together with what was wrong.
var (
	// ErrInvalidConfig (kerr.Invalid): a Config passed to a constructor is
	// incomplete or inconsistent.
	ErrInvalidConfig error = &kerr.Error{Kind: kerr.Invalid, Op: "notify", Msg: "bad config"}

	// ErrInvalidMessage (kerr.Invalid): a Message is missing a required
	// field or a field exceeds its limit (see Message.Validate).
	ErrInvalidMessage error = &kerr.Error{Kind: kerr.Invalid, Op: "notify", Msg: "bad message"}

	// ErrUnknownEvent (kerr.Invalid): the EventType is not one of the
	// constants of this package.
	ErrUnknownEvent error = &kerr.Error{Kind: kerr.Invalid, Op: "notify", Msg: "unknown event type"}

	// ErrUnknownLanguage (kerr.Invalid): the Language is neither
	// LanguageJapanese nor LanguageEnglish.
	ErrUnknownLanguage error = &kerr.Error{Kind: kerr.Invalid, Op: "notify", Msg: "unknown language"}

	// ErrNoTemplate (kerr.Invalid): a template set lacks the template for
	// an event type in a language.
	ErrNoTemplate error = &kerr.Error{Kind: kerr.Invalid, Op: "notify", Msg: "missing template"}

	// ErrPermanent marks a delivery failure that retrying cannot fix (for
	// example an SMTP 5yz reply, RFC 5321 §4.2.1). The Worker gives such a
	// message up at once instead of scheduling another attempt. Wrap an
	// error with Permanent to mark it. It has no kind of its own: the
	// marked error keeps its kind (delivery errors of this package are
	// kerr.Invalid when permanent and kerr.Unavailable when temporary).
	ErrPermanent = errors.New("notify: permanent delivery failure")
)

// Permanent returns an error that wraps err and ErrPermanent, so that
// errors.Is(result, ErrPermanent) and errors.Is(result, err) both hold.
// Permanent(nil) returns nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }

// Unwrap returns only err, so kerr.Of still finds err's kind; Is adds the
// ErrPermanent mark.
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }
