package casework_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/kerr/kmsg"
)

// An empty upload is refused saying so once: not as a PDF that cannot be
// read, nor as signatures that did not pass validation (issue 9).
func TestEmptyUploadOneLayer(t *testing.T) {
	e := newEnv(t)
	nc := newCase(casework.FormBilateral, nil)
	nc.Document = casework.Upload{Name: "contract.pdf", Body: bytes.NewReader(nil)}
	_, err := e.svc.Register(context.Background(), u1, nc)
	if !errors.Is(err, kerr.Invalid) {
		t.Fatalf("err = %v, want Invalid", err)
	}
	if got, want := err.Error(), "casework.Register: invalid: the upload contract.pdf is empty: choose the file again and upload it"; got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
	for lang, want := range map[string]string{
		"en": "the upload contract.pdf is empty: choose the file again and upload it",
		"ja": "アップロードされた contract.pdf は空です。ファイルを選び直してアップロードしてください。",
	} {
		if got, ok := kmsg.Localize(err, lang); !ok || got != want {
			t.Errorf("Localize(%s) = %q, %v; want %q", lang, got, ok, want)
		}
	}
}

// The refusals of the lifecycle say whose turn it is and what the state
// allows, with a code each.
func TestLifecycleRefusalCodes(t *testing.T) {
	tests := []struct {
		name string
		form casework.Form
		from casework.State
		ev   casework.Event
		role casework.Role
		kind kerr.Kind
		code string
		ja   string
	}{
		{"party not on turn", casework.FormMultiParty, casework.StateReceived, casework.EventReturn, casework.RoleNone, kerr.PermissionDenied, "case.notyourturn",
			"この案件を返送する順番ではありません（現在の状態: 受領済み（署名待ち））。案件が貴社に送付されるまでお待ちください。"},
		{"registrant returns", casework.FormBilateral, casework.StateReceived, casework.EventReturn, casework.RoleRegistrant, kerr.PermissionDenied, "case.wrongrole",
			"契約書（1対1）の案件（状態: 受領済み（署名待ち））では、登録者は返送できません。"},
		{"delete a completed case", casework.FormBilateral, casework.StateCompleted, casework.EventDelete, casework.RoleRegistrant, kerr.FailedPrecondition, "case.wrongstate",
			"状態が「締結済み」の案件は削除できません。再読み込みして現在の状態を確認してください。"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := casework.Next(tt.form, tt.from, tt.ev, tt.role, casework.TurnLast)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			if c := kerr.CodeOf(err); c == nil || c.Code != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if got, _ := kmsg.Localize(err, "ja"); got != tt.ja {
				t.Errorf("ja = %q\nwant %q", got, tt.ja)
			}
			if en, _ := kmsg.Localize(err, "en"); strings.ContainsAny(en, "{}") || strings.Contains(err.Error(), "{") {
				t.Errorf("unfilled placeholder: %q / %v", en, err)
			}
		})
	}
}

// An upload cut off while being read says so, once, with the cause
// still reachable.
func TestUnreadableUpload(t *testing.T) {
	e := newEnv(t)
	cause := errors.New("connection reset")
	nc := newCase(casework.FormBilateral, nil)
	nc.Document = casework.Upload{Name: "contract.pdf", Body: iotest.ErrReader(cause)}
	_, err := e.svc.Register(context.Background(), u1, nc)
	if !errors.Is(err, kerr.Invalid) || !errors.Is(err, cause) {
		t.Fatalf("err = %v, want Invalid with its cause", err)
	}
	if got, want := err.Error(), "casework.Register: invalid: contract.pdf could not be read to the end: choose the file again and upload it"; got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
	if ja, _ := kmsg.Localize(err, "ja"); ja != "contract.pdf を最後まで読み取れませんでした。ファイルを選び直してアップロードしてください。" {
		t.Errorf("ja = %q", ja)
	}
}
