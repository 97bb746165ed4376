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
