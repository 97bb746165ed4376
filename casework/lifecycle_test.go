package casework

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/kerr"
)

// The expected tables, written out state by state. Columns follow Events():
// register, receive, return, send-back, resend, complete, delete, acknowledge.
// A cell lists "role:state" for each role allowed to cause the event; "-"
// means the event is refused in that state whoever causes it.
var (
	wantSigning = map[State][8]string{
		StateNew:             {"R:sent", "-", "-", "-", "-", "-", "-", "-"},
		StateSent:            {"-", "P:received", "-", "R:sent-back P:sent-back", "-", "-", "R:deleted", "-"},
		StateReceived:        {"-", "P:received", "P:returned", "R:sent-back P:sent-back", "-", "-", "R:deleted", "-"},
		StateReturned:        {"-", "-", "-", "R:sent-back-to-party", "-", "R:completed", "R:deleted", "-"},
		StateSentBack:        {"-", "-", "-", "-", "R:sent", "-", "R:deleted", "-"},
		StateCompleted:       {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateDeleted:         {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateSentBackToParty: {"-", "P:received", "-", "P:sent-back", "-", "-", "R:deleted", "-"},
	}
	// wantMultiMore is FormMultiParty when more parties follow the one on
	// turn: a return passes the case to the next party.
	wantMultiMore = map[State][8]string{
		StateNew:             {"R:sent", "-", "-", "-", "-", "-", "-", "-"},
		StateSent:            {"-", "P:received", "-", "R:sent-back P:sent-back", "-", "-", "R:deleted", "-"},
		StateReceived:        {"-", "P:received", "P:sent", "R:sent-back P:sent-back", "-", "-", "R:deleted", "-"},
		StateReturned:        {"-", "-", "-", "R:sent-back-to-party", "-", "R:completed", "R:deleted", "-"},
		StateSentBack:        {"-", "-", "-", "-", "R:sent", "-", "R:deleted", "-"},
		StateCompleted:       {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateDeleted:         {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateSentBackToParty: {"-", "P:received", "-", "P:sent-back", "-", "-", "R:deleted", "-"},
	}
	// wantMultiAfter is FormMultiParty when parties precede the one on
	// turn and none follows: its send-back goes to the previous party.
	wantMultiAfter = map[State][8]string{
		StateNew:             {"R:sent", "-", "-", "-", "-", "-", "-", "-"},
		StateSent:            {"-", "P:received", "-", "R:sent-back P:sent-back-to-party", "-", "-", "R:deleted", "-"},
		StateReceived:        {"-", "P:received", "P:returned", "R:sent-back P:sent-back-to-party", "-", "-", "R:deleted", "-"},
		StateReturned:        {"-", "-", "-", "R:sent-back-to-party", "-", "R:completed", "R:deleted", "-"},
		StateSentBack:        {"-", "-", "-", "-", "R:sent", "-", "R:deleted", "-"},
		StateCompleted:       {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateDeleted:         {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateSentBackToParty: {"-", "P:received", "-", "P:sent-back-to-party", "-", "-", "R:deleted", "-"},
	}
	// wantMultiMiddle: parties before and after the one on turn.
	wantMultiMiddle = map[State][8]string{
		StateNew:             {"R:sent", "-", "-", "-", "-", "-", "-", "-"},
		StateSent:            {"-", "P:received", "-", "R:sent-back P:sent-back-to-party", "-", "-", "R:deleted", "-"},
		StateReceived:        {"-", "P:received", "P:sent", "R:sent-back P:sent-back-to-party", "-", "-", "R:deleted", "-"},
		StateReturned:        {"-", "-", "-", "R:sent-back-to-party", "-", "R:completed", "R:deleted", "-"},
		StateSentBack:        {"-", "-", "-", "-", "R:sent", "-", "R:deleted", "-"},
		StateCompleted:       {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateDeleted:         {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateSentBackToParty: {"-", "P:received", "-", "P:sent-back-to-party", "-", "-", "R:deleted", "-"},
	}
	// wantSendOnly: one party, nothing returned, so nothing is ever sent
	// back to a party.
	wantSendOnly = map[State][8]string{
		StateNew:             {"R:sent", "-", "-", "-", "-", "-", "-", "-"},
		StateSent:            {"-", "P:received", "-", "R:sent-back P:sent-back", "-", "-", "R:deleted", "-"},
		StateReceived:        {"-", "P:received", "-", "R:sent-back P:sent-back", "-", "-", "R:deleted", "P:completed"},
		StateReturned:        {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateSentBack:        {"-", "-", "-", "-", "R:sent", "-", "R:deleted", "-"},
		StateCompleted:       {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateDeleted:         {"-", "-", "-", "-", "-", "-", "-", "-"},
		StateSentBackToParty: {"-", "-", "-", "-", "-", "-", "-", "-"},
	}
)

func parseCell(t *testing.T, cell string) map[Role]State {
	t.Helper()
	out := map[Role]State{}
	if cell == "-" {
		return out
	}
	for _, part := range strings.Fields(cell) {
		role, state, ok := strings.Cut(part, ":")
		if !ok {
			t.Fatalf("bad cell %q", cell)
		}
		st, err := ParseState(state)
		if err != nil {
			t.Fatal(err)
		}
		switch role {
		case "R":
			out[RoleRegistrant] = st
		case "P":
			out[RoleParty] = st
		default:
			t.Fatalf("bad role in cell %q", cell)
		}
	}
	return out
}

func TestNextEveryPair(t *testing.T) {
	if len(Events()) != 8 || len(States()) != 8 {
		t.Fatalf("the expected tables cover 8 states x 8 events; update them for %d x %d", len(States()), len(Events()))
	}
	for _, f := range Forms() {
		for _, turn := range []Turn{TurnLast, TurnMore, TurnAfter, TurnMore | TurnAfter} {
			want := wantSigning
			switch {
			case f == FormSendOnly:
				want = wantSendOnly
			case f == FormMultiParty && turn == TurnMore:
				want = wantMultiMore
			case f == FormMultiParty && turn == TurnAfter:
				want = wantMultiAfter
			case f == FormMultiParty && turn == TurnMore|TurnAfter:
				want = wantMultiMiddle
			}
			for _, from := range States() {
				row, ok := want[from]
				if !ok {
					t.Fatalf("no expected row for state %s", from)
				}
				for i, e := range Events() {
					allowed := parseCell(t, row[i])
					for _, r := range Roles() {
						name := f.String() + "/" + from.String() + "/" + e.String() + "/" + r.String()
						name += fmt.Sprintf("/turn%d", turn)
						got, err := Next(f, from, e, r, turn)
						wantState, ok := allowed[r]
						switch {
						case ok:
							if err != nil || got != wantState {
								t.Errorf("%s: got (%s, %v), want %s", name, got, err, wantState)
							}
						case len(allowed) > 0:
							if !errors.Is(err, kerr.PermissionDenied) || got != from {
								t.Errorf("%s: got (%s, %v), want permission denied", name, got, err)
							}
						default:
							if !errors.Is(err, kerr.FailedPrecondition) || got != from {
								t.Errorf("%s: got (%s, %v), want failed precondition", name, got, err)
							}
						}
					}
				}
			}
		}
	}
}

func TestNextInvalid(t *testing.T) {
	tests := []struct {
		name string
		f    Form
		s    State
		e    Event
	}{
		{"zero form", 0, StateNew, EventRegister},
		{"unknown form", 99, StateNew, EventRegister},
		{"unknown state", FormBilateral, 42, EventRegister},
		{"zero event", FormBilateral, StateNew, 0},
		{"unknown event", FormBilateral, StateNew, 77},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Next(tt.f, tt.s, tt.e, RoleRegistrant, TurnLast); !errors.Is(err, kerr.Invalid) {
				t.Fatalf("err = %v, want invalid", err)
			}
		})
	}
}

func TestNamesRoundTrip(t *testing.T) {
	for _, f := range Forms() {
		if g, err := ParseForm(f.String()); err != nil || g != f {
			t.Errorf("ParseForm(%q) = %v, %v", f, g, err)
		}
	}
	for _, s := range States() {
		if g, err := ParseState(s.String()); err != nil || g != s {
			t.Errorf("ParseState(%q) = %v, %v", s, g, err)
		}
	}
	if _, err := ParseForm("triangle"); !errors.Is(err, kerr.Invalid) {
		t.Errorf("ParseForm(triangle) err = %v", err)
	}
	if _, err := ParseState(""); !errors.Is(err, kerr.Invalid) {
		t.Errorf("ParseState(\"\") err = %v", err)
	}
}

// FuzzNext checks Next's invariants on arbitrary inputs: it never panics,
// refuses with one of the documented kinds and leaves the state as it was,
// and never leaves a terminal state.
func FuzzNext(f *testing.F) {
	f.Add(uint8(FormBilateral), uint8(StateReceived), uint8(EventReturn), uint8(RoleParty), uint8(TurnLast))
	f.Add(uint8(FormMultiParty), uint8(StateReceived), uint8(EventReturn), uint8(RoleParty), uint8(TurnMore))
	f.Add(uint8(FormMultiParty), uint8(StateSentBackToParty), uint8(EventSendBack), uint8(RoleParty), uint8(TurnMore|TurnAfter))
	f.Add(uint8(0), uint8(200), uint8(9), uint8(7), uint8(3))
	f.Fuzz(func(t *testing.T, form, state, event, role, turn uint8) {
		from := State(state)
		got, err := Next(Form(form), from, Event(event), Role(role), Turn(turn))
		if err != nil {
			if got != from {
				t.Fatalf("refusal changed the state to %s", got)
			}
			switch kerr.Of(err) {
			case kerr.Invalid, kerr.FailedPrecondition, kerr.PermissionDenied:
			default:
				t.Fatalf("refusal of kind %v", kerr.Of(err))
			}
			return
		}
		if from.Terminal() {
			t.Fatalf("left terminal state %s", from)
		}
		if got.String() == "" || got == StateNew {
			t.Fatalf("moved to %d", got)
		}
	})
}
