package casework_test

import (
	"errors"
	"fmt"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

func ExampleNext() {
	// A three-party contract: the first party returns, more follow.
	s, _ := casework.Next(casework.FormMultiParty, casework.StateReceived, casework.EventReturn, casework.RoleParty, casework.TurnMore)
	fmt.Println(s)
	// The last party returns.
	s, _ = casework.Next(casework.FormMultiParty, casework.StateReceived, casework.EventReturn, casework.RoleParty, casework.TurnLast)
	fmt.Println(s)
	// Nobody deletes a completed case.
	_, err := casework.Next(casework.FormBilateral, casework.StateCompleted, casework.EventDelete, casework.RoleRegistrant, casework.TurnLast)
	fmt.Println(errors.Is(err, kerr.FailedPrecondition))
	// Only the registrant deletes.
	_, err = casework.Next(casework.FormBilateral, casework.StateSent, casework.EventDelete, casework.RoleParty, casework.TurnLast)
	fmt.Println(errors.Is(err, kerr.PermissionDenied))
	// Output:
	// sent
	// returned
	// true
	// true
}

// A CSV encoding named in a request, e.g. ?encoding=sjis, and the
// default for Excel.
func ExampleParseCSVEncoding() {
	for _, name := range []string{"", "sjis", "UTF-8", "latin1"} {
		enc, err := casework.ParseCSVEncoding(name)
		fmt.Println(enc, errors.Is(err, kerr.Invalid))
	}
	// Output:
	// utf-8-bom false
	// shift_jis false
	// utf-8 false
	// utf-8-bom true
}
