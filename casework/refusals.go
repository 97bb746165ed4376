package casework

import (
	"fmt"
	"strings"

	"github.com/keiyaku/keiyaku/kerr"
)

// The refusals users meet most, each with a stable message code
// (kerr.M) so that the REST API and the portal show it once, in Japanese
// or English (package kerr/kmsg). Each says what was wrong and what to do.

// errTooLarge refuses an upload of more than limit bytes.
func errTooLarge(op, name string, limit int64) error {
	return kerr.M(kerr.Invalid, op, "upload.toolarge", "{file} is larger than the limit of {limit}: make the file smaller or split it, and upload it again",
		kerr.P("file", name), kerr.P("limit", sizeText(limit)))
}

// errUnreadable refuses an upload whose body could not be read to the
// end (the client went away, or a limit of the caller's cut it off); the
// cause stays reachable with errors.Is and errors.As.
func errUnreadable(op, name string, cause error) error {
	return kerr.MW(kerr.Invalid, op, "upload.unreadable", "{file} could not be read to the end: choose the file again and upload it", cause, kerr.P("file", name))
}

// sizeText writes a byte count as people read it: 20 MiB, 512 KiB, 100 bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// refuseVerdict turns what the Validator found about an upload into one
// refusal, or nil when the upload may be stored. returned says the upload
// is the return of a sent file; needSignature that it must be signed.
func refuseVerdict(op, name string, v *Verdict, returned, needSignature bool) error {
	switch {
	case v.Unreadable:
		return kerr.M(kerr.Invalid, op, "upload.notpdf", "{file} is not a PDF that can be read: save the contract as a PDF file and upload that", kerr.P("file", name))
	case returned && !v.OnlyAllowedChanges && v.ChangedPage > 0:
		// A changed page also fails the earlier signature; the change is
		// the cause, so it is what the message names.
		return kerr.M(kerr.Invalid, op, "return.changespage", "{file} changes page {page} of the contract beyond adding a signature: sign the received PDF without editing it and return that",
			kerr.P("file", name), kerr.P("page", v.ChangedPage))
	case returned && !v.OnlyAllowedChanges:
		return kerr.M(kerr.Invalid, op, "return.changes", "{file} changes the contract beyond adding a signature ({reasons}): sign the received PDF without editing it and return that",
			kerr.P("file", name), kerr.P("reasons", strings.Join(v.Reasons, "; ")))
	case !v.Passed:
		return kerr.M(kerr.Invalid, op, "upload.signaturefailed", "a signature in {file} is not valid ({reasons}): sign the PDF again with a valid certificate and upload it",
			kerr.P("file", name), kerr.P("reasons", strings.Join(v.Reasons, "; ")))
	case needSignature && v.Signatures == 0:
		return kerr.M(kerr.Invalid, op, "upload.unsigned", "{file} is not signed: sign it with your certificate and upload it again", kerr.P("file", name))
	case returned && v.AddedSignatures == 0:
		return kerr.M(kerr.Invalid, op, "return.nosignature", "{file} adds no signature: sign the received PDF and return it", kerr.P("file", name))
	}
	return nil
}

// errLifecycle is Next's refusal of event e by role r in state from,
// in words: a party not on turn, a role that may not do this, or a
// state that allows it to nobody.
func errLifecycle(op string, f Form, from State, e Event, r Role, allowedToOther bool) error {
	switch {
	case allowedToOther && r == RoleNone:
		return kerr.M(kerr.PermissionDenied, op, "case.notyourturn", "it is not your turn to {action} this case (it is {state}): wait until it is sent to you",
			kerr.PC("action", "event."+e.String(), e.String()), kerr.PC("state", "state."+from.String(), from.String()))
	case allowedToOther:
		return kerr.M(kerr.PermissionDenied, op, "case.wrongrole", "the {role} may not {action} this case ({form}, in state {state})", kerr.PC("role", "role."+r.String(), r.String()),
			kerr.PC("action", "event."+e.String(), e.String()), kerr.PC("form", "form."+f.String(), f.String()), kerr.PC("state", "state."+from.String(), from.String()))
	}
	return kerr.M(kerr.FailedPrecondition, op, "case.wrongstate", "a case in state {state} cannot be {done}: reload it to see where it stands",
		kerr.PC("state", "state."+from.String(), from.String()), kerr.PC("done", "done."+e.String(), pastTense[e]))
}

// pastTense is each event as "the case cannot be …".
var pastTense = [...]string{
	EventRegister:    "registered",
	EventReceive:     "received",
	EventReturn:      "returned",
	EventSendBack:    "sent back",
	EventResend:      "sent again",
	EventComplete:    "completed",
	EventDelete:      "deleted",
	EventAcknowledge: "acknowledged",
}
