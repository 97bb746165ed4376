package casework

import (
	"github.com/keiyaku/keiyaku/kerr"
)

// Form is the contract form of a case. It fixes who signs what and which
// events the lifecycle accepts.
type Form uint8

// The five contract forms.
const (
	// FormOrderAcceptance: 注文書・請書 as separate documents. The
	// registrant sends its signed order; the counterparty returns its own
	// signed acceptance PDF (a new document, not an update of the order).
	FormOrderAcceptance Form = iota + 1
	// FormOrderAcceptanceCombined: 注文書・請書 as one document. The
	// counterparty signs the same PDF in an incremental update.
	FormOrderAcceptanceCombined
	// FormBilateral: a 1:1 contract; the counterparty signs the same PDF
	// in an incremental update.
	FormBilateral
	// FormMultiParty: a contract among the registrant and MinMultiParties
	// to MaxMultiParties counterparties, each signing the same PDF in turn;
	// then the registrant completes.
	FormMultiParty
	// FormSendOnly: 送付のみ. The counterparty acknowledges receipt and
	// signs nothing. Offered only through the API.
	FormSendOnly
)

var formNames = [...]string{
	FormOrderAcceptance:         "order-acceptance",
	FormOrderAcceptanceCombined: "order-acceptance-combined",
	FormBilateral:               "bilateral",
	FormMultiParty:              "multi-party",
	FormSendOnly:                "send-only",
}

// Forms returns every form, in declaration order.
func Forms() []Form {
	return []Form{FormOrderAcceptance, FormOrderAcceptanceCombined, FormBilateral, FormMultiParty, FormSendOnly}
}

// String returns the form's stable name, as stored and as used in the API,
// e.g. "multi-party"; "" for an unknown form.
func (f Form) String() string {
	if f >= FormOrderAcceptance && int(f) < len(formNames) {
		return formNames[f]
	}
	return ""
}

// Valid reports whether f is one of the Form constants.
func (f Form) Valid() bool { return f.String() != "" }

// ParseForm returns the Form named s (as by Form.String), or an error of
// kind kerr.Invalid.
func ParseForm(s string) (Form, error) {
	for _, f := range Forms() {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, kerr.E(kerr.Invalid, "casework.ParseForm", "unknown form %q: use one of order-acceptance, order-acceptance-combined, bilateral, multi-party, send-only", s)
}

// State is where a case stands in its lifecycle.
type State uint8

// The states. StateNew is the zero value: a case not yet registered.
const (
	StateNew       State = iota // not yet registered
	StateSent                   // sent to the party on turn, who has not downloaded it yet
	StateReceived               // the party on turn downloaded it (受領)
	StateReturned               // every party signed (or, separate order/acceptance, returned its acceptance); awaiting completion
	StateSentBack               // sent back to the registrant with a reason (差し戻し); it may correct and resend, or delete
	StateCompleted              // sealed and archived (締結完了); terminal
	StateDeleted                // deleted by the registrant before completion; terminal
	// StateSentBackToParty: sent back with a reason to the counterparty
	// that sent the case (送信元の取引先企業に差し戻し): by the registrant
	// to the party that returned it, or in a multi-party case by a party
	// to the one before it. That party (now on turn) may download it again
	// and return it, or send it further back; the registrant may delete.
	StateSentBackToParty
)

var stateNames = [...]string{
	StateNew:       "new",
	StateSent:      "sent",
	StateReceived:  "received",
	StateReturned:  "returned",
	StateSentBack:  "sent-back",
	StateCompleted: "completed",
	StateDeleted:   "deleted",

	StateSentBackToParty: "sent-back-to-party",
}

// States returns every state, in declaration order.
func States() []State {
	return []State{StateNew, StateSent, StateReceived, StateReturned, StateSentBack, StateCompleted, StateDeleted, StateSentBackToParty}
}

// String returns the state's stable name, as stored, e.g. "sent-back"; ""
// for an unknown state.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return ""
}

// Terminal reports whether no event leads out of s.
func (s State) Terminal() bool { return s == StateCompleted || s == StateDeleted }

// ParseState returns the State named s, or an error of kind kerr.Invalid.
func ParseState(s string) (State, error) {
	for _, st := range States() {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, kerr.E(kerr.Invalid, "casework.ParseState", "unknown state %q", s)
}

// Event is something an actor does to a case.
type Event uint8

// The events.
const (
	EventRegister    Event = iota + 1 // the registrant registers the case and sends it
	EventReceive                      // the party on turn downloads it
	EventReturn                       // the party on turn signs and returns it
	EventSendBack                     // either side sends it back, with a reason, to the side that sent it
	EventResend                       // the registrant sends a sent-back case again after correcting it
	EventComplete                     // the registrant completes (seals) a returned case
	EventDelete                       // the registrant deletes the case before completion
	EventAcknowledge                  // send-only: the party on turn acknowledges receipt
)

var eventNames = [...]string{
	EventRegister:    "register",
	EventReceive:     "receive",
	EventReturn:      "return",
	EventSendBack:    "send-back",
	EventResend:      "resend",
	EventComplete:    "complete",
	EventDelete:      "delete",
	EventAcknowledge: "acknowledge",
}

// Events returns every event, in declaration order.
func Events() []Event {
	return []Event{EventRegister, EventReceive, EventReturn, EventSendBack, EventResend, EventComplete, EventDelete, EventAcknowledge}
}

// String returns the event's stable name, as written to the audit log.
func (e Event) String() string {
	if e >= EventRegister && int(e) < len(eventNames) {
		return eventNames[e]
	}
	return ""
}

// Role is the part an actor plays in a case at the moment it acts.
type Role uint8

// The roles.
const (
	// RoleNone: the actor plays no part in the case (e.g. a party that is
	// not on turn). Next refuses every event from RoleNone.
	RoleNone Role = iota
	// RoleRegistrant: the registrant (案件登録者) or an administrator of its
	// company.
	RoleRegistrant
	// RoleParty: the counterparty whose turn it is (案件返送者).
	RoleParty
)

// Roles returns every role.
func Roles() []Role { return []Role{RoleNone, RoleRegistrant, RoleParty} }

// String returns the role's name.
func (r Role) String() string {
	switch r {
	case RoleRegistrant:
		return "registrant"
	case RoleParty:
		return "party"
	}
	return "none"
}

// Turn says where the party on turn stands among the parties: whether
// others follow it (TurnMore) and whether others precede it (TurnAfter).
// The flags combine. Only FormMultiParty has more than one party; for
// every other form the single counterparty is first and last and Turn is
// ignored.
type Turn uint8

// The turns.
const (
	TurnLast Turn = 0      // no party follows the one on turn (the only one, except in FormMultiParty)
	TurnMore Turn = 1 << 0 // more parties follow the one on turn (FormMultiParty only)
	// TurnAfter: parties precede the one on turn (FormMultiParty only), so
	// its send-back goes to the previous party, not to the registrant.
	TurnAfter Turn = 1 << 1
)

type key struct {
	state State
	event Event
	role  Role
}

// signing is the transition table shared by the forms that sign
// (everything but FormSendOnly). A result of StateSent for EventReturn is
// rewritten to StateReturned for the last party; see Next.
var signing = map[key]State{
	{StateNew, EventRegister, RoleRegistrant}: StateSent,

	{StateSent, EventReceive, RoleParty}:       StateReceived,
	{StateSent, EventSendBack, RoleRegistrant}: StateSentBack,
	{StateSent, EventSendBack, RoleParty}:      StateSentBack,
	{StateSent, EventDelete, RoleRegistrant}:   StateDeleted,

	{StateReceived, EventReceive, RoleParty}:       StateReceived, // downloading again is allowed
	{StateReceived, EventReturn, RoleParty}:        StateReturned,
	{StateReceived, EventSendBack, RoleRegistrant}: StateSentBack,
	{StateReceived, EventSendBack, RoleParty}:      StateSentBack,
	{StateReceived, EventDelete, RoleRegistrant}:   StateDeleted,

	{StateReturned, EventSendBack, RoleRegistrant}: StateSentBackToParty, // to the party that returned it
	{StateReturned, EventComplete, RoleRegistrant}: StateCompleted,
	{StateReturned, EventDelete, RoleRegistrant}:   StateDeleted,

	{StateSentBack, EventResend, RoleRegistrant}: StateSent,
	{StateSentBack, EventDelete, RoleRegistrant}: StateDeleted,

	{StateSentBackToParty, EventReceive, RoleParty}:     StateReceived,
	{StateSentBackToParty, EventSendBack, RoleParty}:    StateSentBack,
	{StateSentBackToParty, EventDelete, RoleRegistrant}: StateDeleted,
}

// sendOnly is the transition table of FormSendOnly: no signature, no
// completion by the registrant; the party's acknowledgement completes it.
var sendOnly = map[key]State{
	{StateNew, EventRegister, RoleRegistrant}: StateSent,

	{StateSent, EventReceive, RoleParty}:       StateReceived,
	{StateSent, EventSendBack, RoleRegistrant}: StateSentBack,
	{StateSent, EventSendBack, RoleParty}:      StateSentBack,
	{StateSent, EventDelete, RoleRegistrant}:   StateDeleted,

	{StateReceived, EventReceive, RoleParty}:       StateReceived,
	{StateReceived, EventAcknowledge, RoleParty}:   StateCompleted,
	{StateReceived, EventSendBack, RoleRegistrant}: StateSentBack,
	{StateReceived, EventSendBack, RoleParty}:      StateSentBack,
	{StateReceived, EventDelete, RoleRegistrant}:   StateDeleted,

	{StateSentBack, EventResend, RoleRegistrant}: StateSent,
	{StateSentBack, EventDelete, RoleRegistrant}: StateDeleted,
}

// Next returns the state a case of form f in state from moves to when an
// actor in role r causes event e. turn matters only in FormMultiParty: for
// EventReturn, TurnMore sends the case on to the next party (StateSent),
// without it the case moves to StateReturned; for EventSendBack by the
// party on turn, TurnAfter sends it back to the previous party
// (StateSentBackToParty), without it to the registrant (StateSentBack).
//
// Next is pure: it reads no clock and no storage. It returns an error of
// kind kerr.Invalid for an unknown form, state or event; kerr.PermissionDenied
// when the event is allowed in this state but not for role r; and
// kerr.FailedPrecondition when the event is not allowed in state from at all
// (including every event out of a terminal state).
func Next(f Form, from State, e Event, r Role, turn Turn) (State, error) {
	const op = "casework.Next"
	if !f.Valid() {
		return from, kerr.E(kerr.Invalid, op, "unknown form %d", f)
	}
	if from.String() == "" {
		return from, kerr.E(kerr.Invalid, op, "unknown state %d", from)
	}
	if e.String() == "" {
		return from, kerr.E(kerr.Invalid, op, "unknown event %d", e)
	}
	table := signing
	if f == FormSendOnly {
		table = sendOnly
	}
	to, ok := table[key{from, e, r}]
	if !ok {
		for _, other := range Roles() {
			if _, allowed := table[key{from, e, other}]; allowed {
				return from, errLifecycle(op, f, from, e, r, true)
			}
		}
		return from, errLifecycle(op, f, from, e, r, false)
	}
	if e == EventReturn && f == FormMultiParty && turn&TurnMore != 0 {
		to = StateSent
	}
	if e == EventSendBack && r == RoleParty && f == FormMultiParty && turn&TurnAfter != 0 {
		to = StateSentBackToParty
	}
	return to, nil
}
