package kerr

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it. A Kind is
// itself an error, so that errors.Is(err, kerr.NotFound) reports whether err
// (or anything it wraps) is of that kind. The set is closed: new kinds are
// not added lightly because every embedder maps them.
type Kind uint8

// The kinds. The zero Kind, Other, means "not classified here"; Of reports
// Internal for an error that carries no kind at all.
const (
	Other              Kind = iota // no kind of its own; look at the wrapped error
	NotFound                       // the thing named does not exist (or is not visible to the caller)
	Invalid                        // the input is malformed or out of range; fix the input
	Conflict                       // a concurrent change won, or the thing already exists; reload and retry
	PermissionDenied               // the caller is known but may not do this
	Unauthenticated                // the caller is not (or no longer) known: log in
	FailedPrecondition             // the system is not in a state that allows this action
	Unavailable                    // a dependency is down or overloaded; retry later
	Internal                       // a bug or broken invariant (including corrupt stored data)
)

var kindNames = [...]string{
	Other:              "other",
	NotFound:           "not found",
	Invalid:            "invalid",
	Conflict:           "conflict",
	PermissionDenied:   "permission denied",
	Unauthenticated:    "unauthenticated",
	FailedPrecondition: "failed precondition",
	Unavailable:        "unavailable",
	Internal:           "internal",
}

// String returns the kind's lower-case name, e.g. "not found".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error makes Kind usable as a sentinel with errors.Is.
func (k Kind) Error() string { return k.String() }

// Error is the error type of every keiyaku package.
type Error struct {
	// Kind classifies the error. Other means "the kind of Err".
	Kind Kind
	// Op names the operation that failed, as package.Function or
	// package.Type.Method, e.g. "sqlite.CommitCase".
	Op string
	// Msg says what was wrong and, where the caller can fix it, how.
	// May be empty when Err says it all.
	Msg string
	// Err is the underlying error; may be nil.
	Err error
}

// Error renders "op: kind: msg: err", leaving out the empty parts and a kind
// that is repeated further down the chain.
func (e *Error) Error() string {
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	add(e.Op)
	if e.Kind != Other {
		var inner *Error
		if !(errors.As(e.Err, &inner) && Of(e.Err) == e.Kind) {
			add(e.Kind.String())
		}
	}
	add(e.Msg)
	if e.Err != nil {
		add(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the Kind of e. errors.Is goes on to the
// wrapped error when this returns false, so a wrapping *Error with kind Other
// matches the kind of the error it wraps.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k != Other && e.Kind == k
}

// E returns a new *Error of kind k for operation op, with a message formatted
// as by fmt.Sprintf. Use %w in format to keep a cause reachable.
func E(k Kind, op, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if errors.Unwrap(err) == nil {
		return &Error{Kind: k, Op: op, Msg: err.Error()}
	}
	// Keep the cause reachable through fmt's wrapper, whose text already
	// includes it.
	return &Error{Kind: k, Op: op, Err: err}
}

// Wrap adds the operation name op to err, keeping its kind. It returns nil
// when err is nil. An error that carries no kind anywhere in its chain is
// classified Internal, so that every error leaving a keiyaku package has a
// kind.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if Of(err) == Internal && !errors.Is(err, Internal) {
		k := Internal
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			// The caller gave up; retrying with a live context may succeed.
			k = Unavailable
		}
		return &Error{Kind: k, Op: op, Err: err}
	}
	return &Error{Op: op, Err: err}
}

// WrapKind wraps err with operation op under kind k (overriding the kind
// err may carry) and message msg. It returns nil when err is nil.
func WrapKind(k Kind, op, msg string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Op: op, Msg: msg, Err: err}
}

// Of returns the kind of err: the first non-Other kind in its chain,
// Internal when there is none, and Other only for a nil error.
func Of(err error) Kind {
	if err == nil {
		return Other
	}
	for err != nil {
		switch e := err.(type) {
		case Kind:
			if e != Other {
				return e
			}
		case *Error:
			if e.Kind != Other {
				return e.Kind
			}
		}
		err = errors.Unwrap(err)
	}
	return Internal
}
