package account

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// FuzzNameRequestInput: the checks of a company-name request (name,
// reason or note) never panic, refuse only with kerr.Invalid, and what
// they accept is within the stated limits and storable by every backend.
func FuzzNameRequestInput(f *testing.F) {
	for _, s := range [][2]string{{"株式会社ケイヤク", "合併のため"}, {"", ""}, {" ", "\n"}, {"a\x00b", "\x7f"}, {"\xff", "\u0085"}, {strings.Repeat("名", 201), strings.Repeat("理", 501)}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, note string) {
		nameErr := checkCompanyName("fuzz", name)
		noteErr := checkNote("fuzz", "note", note)
		for _, err := range []error{nameErr, noteErr} {
			if err != nil && kerr.Of(err) != kerr.Invalid {
				t.Fatalf("err = %v, want kind Invalid", err)
			}
		}
		if nameErr == nil {
			if strings.TrimSpace(name) == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxCompanyNameLen || strings.ContainsFunc(name, isControl) {
				t.Fatalf("accepted company name %q", name)
			}
		}
		if noteErr == nil {
			if !utf8.ValidString(note) || utf8.RuneCountInString(note) > MaxNameNoteLen || strings.ContainsFunc(note, func(r rune) bool { return r != '\n' && r != '\r' && isControl(r) }) {
				t.Fatalf("accepted note %q", note)
			}
		}
		r := &storage.NameRequest{ID: "r", CompanyID: "c", Name: name, Reason: note, Note: note, Status: storage.NamePending}
		err := r.Check("fuzz")
		if err != nil && kerr.Of(err) != kerr.Invalid {
			t.Fatalf("NameRequest.Check err = %v, want kind Invalid", err)
		}
		if nameErr == nil && noteErr == nil && err != nil {
			t.Fatalf("the store refuses what account accepts: %v", err)
		}
	})
}
