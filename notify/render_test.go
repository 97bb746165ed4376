package notify_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode"

	"github.com/keiyaku/keiyaku/notify"
)

var eventCreated = time.Date(2026, 11, 26, 8, 25, 0, 0, time.UTC)

// sampleMessage returns a complete notice of type typ for a recipient
// speaking lang.
func sampleMessage(id string, typ notify.EventType, lang notify.Language) notify.Message {
	m := notify.Message{
		ID:          id,
		Type:        typ,
		CaseID:      "case-42",
		CaseName:    "業務委託契約書",
		OrderNumber: "PO-2026-001",
		From:        notify.Party{Company: "株式会社サンプル", User: "山田 太郎"},
		Recipient: notify.Recipient{
			Company: "例示商事株式会社", Name: "佐藤 花子",
			Email: "hanako@example.jp", Language: lang,
		},
		URL:       "https://keiyaku.example.jp/cases/case-42",
		CreatedAt: eventCreated,
	}
	if typ == notify.EventSentBack {
		m.Reason = "第3条の支払期日を月末に修正してください。\n金額に誤りがあります。"
	}
	if typ == notify.EventRetentionDeletion {
		m.Reason = "2036-04-01" // the deletion date
	}
	if lang == notify.LanguageEnglish {
		m.CaseName = "Service Agreement"
		m.From = notify.Party{Company: "Sample Corp.", User: "Taro Yamada"}
		m.Recipient.Company, m.Recipient.Name = "Example Trading Co.", "Hanako Sato"
		if typ == notify.EventSentBack {
			m.Reason = "Please move the payment date in Article 3 to the end of the month.\nThe amount is wrong."
		}
	}
	return m
}

// wording is what each notice must say, per language and event: a fixed
// subject prefix and a sentence that only that event's body contains.
var wording = map[notify.Language]map[notify.EventType]struct{ subject, phrase string }{
	notify.LanguageJapanese: {
		notify.EventReceiptRequested:      {"【keiyaku】契約書の受領依頼が届いています", "から、契約書の受領依頼が届いています。"},
		notify.EventReturned:              {"【keiyaku】契約書が返送されました", "が、契約書に電子署名をして返送しました。"},
		notify.EventSentBack:              {"【keiyaku】契約書が差し戻されました", "から、下記の案件が差し戻されました。"},
		notify.EventCompleted:             {"【keiyaku】契約の締結が完了しました", "下記の案件について、契約の締結が完了しました。"},
		notify.EventDeleted:               {"【keiyaku】案件が削除されました", "により、下記の案件が削除されました。"},
		notify.EventAcknowledged:          {"【keiyaku】送付書類の受領が確認されました", "が、下記の送付書類を受領しました。"},
		notify.EventEvidenceRenewalFailed: {"【keiyaku】原本の証拠の更新に失敗しました", "下記の締結済み案件の証拠（タイムスタンプ）の自動更新に失敗しました。"},
		notify.EventReminder:              {"【keiyaku】ご対応のお願い", "からの下記の案件が、まだご対応をお待ちしております。"},
		notify.EventOverdue:               {"【keiyaku】回答期限を過ぎました", "との下記の案件は、回答期限を過ぎましたが"},
		notify.EventRetentionDeletion:     {"【keiyaku】締結済み案件の削除予定のお知らせ", "下記の締結済み案件は保管期間が満了するため"},
	},
	notify.LanguageEnglish: {
		notify.EventReceiptRequested:      {"[keiyaku] A contract is waiting for you to receive", "has sent you a contract to receive."},
		notify.EventReturned:              {"[keiyaku] A contract has been returned", "has signed the contract electronically and returned it."},
		notify.EventSentBack:              {"[keiyaku] A contract has been sent back", "has sent back the case below."},
		notify.EventCompleted:             {"[keiyaku] The contract has been concluded", "The contract below has been concluded."},
		notify.EventDeleted:               {"[keiyaku] A case has been deleted", "has deleted the case below."},
		notify.EventAcknowledged:          {"[keiyaku] Receipt of your documents has been confirmed", "has confirmed receipt of the documents below."},
		notify.EventEvidenceRenewalFailed: {"[keiyaku] Renewing the evidence of a contract failed", "The scheduled renewal of the evidence (timestamps) of the concluded case below failed."},
		notify.EventReminder:              {"[keiyaku] Reminder: a contract is waiting for you", "is still waiting for your action"},
		notify.EventOverdue:               {"[keiyaku] Reply-by date passed", "The reply-by date of the case below"},
		notify.EventRetentionDeletion:     {"[keiyaku] A completed case is due for deletion", "The retention period of the completed case below ends"},
	},
}

// checkNotice asserts that subject and body are the notice m in lang.
func checkNotice(t *testing.T, m notify.Message, lang notify.Language, subject, body string) {
	t.Helper()
	w := wording[lang][m.Type]
	if w.subject == "" {
		t.Fatalf("no expected wording for %s/%s", lang, m.Type)
	}
	wantSubject := w.subject + "（" + m.CaseName + "）"
	if lang == notify.LanguageEnglish {
		wantSubject = w.subject + " (" + m.CaseName + ")"
	}
	if subject != wantSubject {
		t.Errorf("subject = %q, want %q", subject, wantSubject)
	}
	want := []string{w.phrase, m.CaseName, m.OrderNumber, m.URL, m.Recipient.Company}
	if lang == notify.LanguageJapanese {
		want = append(want, m.Recipient.Name+" 様", "いつもお世話になっております。", "2026年11月26日 17:25（日本時間）")
		if m.Type != notify.EventCompleted && m.Type != notify.EventEvidenceRenewalFailed && m.Type != notify.EventRetentionDeletion {
			want = append(want, m.From.Company+" "+m.From.User+" 様")
		}
	} else {
		want = append(want, "Dear "+m.Recipient.Name+",", "2026-11-26 17:25 JST")
		if m.Type != notify.EventCompleted && m.Type != notify.EventEvidenceRenewalFailed && m.Type != notify.EventRetentionDeletion {
			want = append(want, m.From.User+" of "+m.From.Company)
		}
	}
	if m.Reason != "" {
		want = append(want, m.Reason)
	}
	for _, s := range want {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q:\n%s", s, body)
		}
	}
	// The other events' sentences must not leak into this notice.
	for typ, other := range wording[lang] {
		if typ != m.Type && strings.Contains(body, other.phrase) {
			t.Errorf("body of %s contains the %s sentence %q", m.Type, typ, other.phrase)
		}
	}
	kana := func(r rune) bool { return unicode.In(r, unicode.Hiragana, unicode.Katakana) }
	switch lang {
	case notify.LanguageJapanese:
		if strings.Contains(body, "Dear ") {
			t.Errorf("Japanese body contains English salutation:\n%s", body)
		}
	case notify.LanguageEnglish:
		if i := strings.IndexFunc(body, kana); i >= 0 {
			t.Errorf("English body contains Japanese text at %d:\n%s", i, body)
		}
	}
}

func TestRenderEveryEventAndLanguage(t *testing.T) {
	tmpl, err := notify.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range notify.Languages() {
		for _, typ := range notify.EventTypes() {
			t.Run(string(lang)+"/"+string(typ), func(t *testing.T) {
				m := sampleMessage("ob-1", typ, lang)
				mail, err := tmpl.Render(&m)
				if err != nil {
					t.Fatal(err)
				}
				if mail.To != m.Recipient.Email || mail.ToName != m.Recipient.Name || mail.ID != m.ID || mail.Language != lang {
					t.Errorf("addressing = %q %q %q %q", mail.ID, mail.To, mail.ToName, mail.Language)
				}
				if !mail.Date.IsZero() {
					t.Errorf("Render set Date %v; the worker owns the clock", mail.Date)
				}
				checkNotice(t, m, lang, mail.Subject, mail.Body)
			})
		}
	}
}

func TestRenderDefaultsAndOptionalFields(t *testing.T) {
	tmpl, err := notify.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		edit     func(*notify.Message)
		wantLang notify.Language
		want     []string
		notWant  []string
	}{
		{
			name:     "empty language is Japanese",
			edit:     func(m *notify.Message) { m.Recipient.Language = "" },
			wantLang: notify.LanguageJapanese,
			want:     []string{"佐藤 花子 様"},
		},
		{
			name: "no recipient name or company",
			edit: func(m *notify.Message) { m.Recipient.Name, m.Recipient.Company = "", "" },
			want: []string{"ご担当者 様"}, notWant: []string{"例示商事株式会社"},
		},
		{
			name: "no sender names",
			edit: func(m *notify.Message) { m.From = notify.Party{} },
			want: []string{"取引先から、"},
		},
		{
			name:    "optional lines left out",
			edit:    func(m *notify.Message) { m.OrderNumber, m.URL, m.CreatedAt = "", "", time.Time{} },
			notWant: []string{"発注番号", "案件URL", "日時"},
		},
		{
			name: "send back without reason",
			edit: func(m *notify.Message) { m.Type, m.Reason = notify.EventSentBack, "" },
			want: []string{"（理由の記載はありません）"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleMessage("ob-1", notify.EventReceiptRequested, notify.LanguageJapanese)
			tc.edit(&m)
			mail, err := tmpl.Render(&m)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantLang != "" && mail.Language != tc.wantLang {
				t.Errorf("language = %q, want %q", mail.Language, tc.wantLang)
			}
			for _, s := range tc.want {
				if !strings.Contains(mail.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, mail.Body)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(mail.Body, s) {
					t.Errorf("body contains %q:\n%s", s, mail.Body)
				}
			}
		})
	}
}

func TestRenderRejectsBadMessages(t *testing.T) {
	tmpl, err := notify.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*notify.Message)
		want error
	}{
		{"unknown language", func(m *notify.Message) { m.Recipient.Language = "fr" }, notify.ErrUnknownLanguage},
		{"region subtag not supported", func(m *notify.Message) { m.Recipient.Language = "ja-JP" }, notify.ErrUnknownLanguage},
		{"unknown event", func(m *notify.Message) { m.Type = "signed" }, notify.ErrUnknownEvent},
		{"empty event", func(m *notify.Message) { m.Type = "" }, notify.ErrUnknownEvent},
		{"no ID", func(m *notify.Message) { m.ID = "" }, notify.ErrInvalidMessage},
		{"ID with space", func(m *notify.Message) { m.ID = "a b" }, notify.ErrInvalidMessage},
		{"ID with angle bracket", func(m *notify.Message) { m.ID = "a>b" }, notify.ErrInvalidMessage},
		{"ID too long", func(m *notify.Message) { m.ID = strings.Repeat("a", notify.MaxIDLen+1) }, notify.ErrInvalidMessage},
		{"no case ID", func(m *notify.Message) { m.CaseID = "" }, notify.ErrInvalidMessage},
		{"no case name", func(m *notify.Message) { m.CaseName = "" }, notify.ErrInvalidMessage},
		{"case name with line break (header injection)", func(m *notify.Message) { m.CaseName = "x\r\nBcc: evil@example.com" }, notify.ErrInvalidMessage},
		{"case name too long", func(m *notify.Message) { m.CaseName = strings.Repeat("契", notify.MaxNameLen+1) }, notify.ErrInvalidMessage},
		{"invalid UTF-8", func(m *notify.Message) { m.From.Company = "\xff\xfe" }, notify.ErrInvalidMessage},
		{"reason too long", func(m *notify.Message) { m.Reason = strings.Repeat("a", notify.MaxReasonLen+1) }, notify.ErrInvalidMessage},
		{"reason with NUL", func(m *notify.Message) { m.Reason = "a\x00b" }, notify.ErrInvalidMessage},
		{"no e-mail", func(m *notify.Message) { m.Recipient.Email = "" }, notify.ErrInvalidMessage},
		{"e-mail with display name", func(m *notify.Message) { m.Recipient.Email = "Hanako <hanako@example.jp>" }, notify.ErrInvalidMessage},
		{"e-mail without domain", func(m *notify.Message) { m.Recipient.Email = "hanako" }, notify.ErrInvalidMessage},
		{"e-mail too long", func(m *notify.Message) { m.Recipient.Email = strings.Repeat("a", 250) + "@example.jp" }, notify.ErrInvalidMessage},
		{"relative URL", func(m *notify.Message) { m.URL = "/cases/42" }, notify.ErrInvalidMessage},
		{"javascript URL", func(m *notify.Message) { m.URL = "javascript:alert(1)" }, notify.ErrInvalidMessage},
		{"URL too long", func(m *notify.Message) { m.URL = "https://example.jp/" + strings.Repeat("a", notify.MaxURLLen) }, notify.ErrInvalidMessage},
		{"negative attempts", func(m *notify.Message) { m.Attempts = -1 }, notify.ErrInvalidMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleMessage("ob-1", notify.EventReceiptRequested, notify.LanguageJapanese)
			tc.edit(&m)
			if _, err := tmpl.Render(&m); !errors.Is(err, tc.want) {
				t.Fatalf("Render error = %v, want %v", err, tc.want)
			}
			if err := m.Validate(); !errors.Is(err, tc.want) {
				t.Fatalf("Validate error = %v, want %v", err, tc.want)
			}
		})
	}
}

// completeFS returns a minimal complete template set.
func completeFS() fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, lang := range notify.Languages() {
		fsys[string(lang)+"/_common.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "sig"}}-- {{.CaseID}}{{end}}`)}
		for _, typ := range notify.EventTypes() {
			fsys[string(lang)+"/"+string(typ)+".tmpl"] = &fstest.MapFile{Data: []byte(
				`{{define "subject"}}` + string(lang) + ` ` + string(typ) + ` {{.CaseName}}{{end}}` +
					`{{define "body"}}{{.CaseName}} {{datetime .CreatedAt}}
{{template "sig" .}}{{end}}`)}
		}
	}
	return fsys
}

func TestParseTemplates(t *testing.T) {
	tests := []struct {
		name string
		edit func(fstest.MapFS)
		want error // nil: must parse
	}{
		{"complete custom set", func(fstest.MapFS) {}, nil},
		{"missing event file", func(f fstest.MapFS) { delete(f, "en/deleted.tmpl") }, notify.ErrNoTemplate},
		{"missing language", func(f fstest.MapFS) {
			for _, typ := range notify.EventTypes() {
				delete(f, "ja/"+string(typ)+".tmpl")
			}
		}, notify.ErrNoTemplate},
		{"no subject", func(f fstest.MapFS) {
			f["ja/completed.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "body"}}x{{end}}`)}
		}, notify.ErrNoTemplate},
		{"no body", func(f fstest.MapFS) {
			f["ja/completed.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "subject"}}x{{end}}`)}
		}, notify.ErrNoTemplate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := completeFS()
			tc.edit(fsys)
			tmpl, err := notify.ParseTemplates(fsys)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseTemplates error = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			m := sampleMessage("ob-1", notify.EventDeleted, notify.LanguageEnglish)
			mail, err := tmpl.Render(&m)
			if err != nil {
				t.Fatal(err)
			}
			if mail.Subject != "en deleted Service Agreement" {
				t.Errorf("subject = %q", mail.Subject)
			}
			if want := "Service Agreement 2026-11-26 17:25 JST\n-- case-42\n"; mail.Body != want {
				t.Errorf("body = %q, want %q", mail.Body, want)
			}
		})
	}
}

func TestParseTemplatesSyntaxError(t *testing.T) {
	fsys := completeFS()
	fsys["en/returned.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "subject"}}{{.CaseName{{end}}`)}
	if _, err := notify.ParseTemplates(fsys); err == nil {
		t.Fatal("ParseTemplates accepted a template with a syntax error")
	}
}

func TestRenderFailures(t *testing.T) {
	tests := []struct {
		name, subject, body string
		want                error // nil: any error
	}{
		{"empty subject", `{{define "subject"}}  {{end}}`, `{{define "body"}}x{{end}}`, notify.ErrNoTemplate},
		{"runaway body", `{{define "subject"}}s{{end}}`, `{{define "body"}}{{range 100000}}0123456789{{end}}{{end}}`, nil},
		{"unknown field", `{{define "subject"}}{{.Nope}}{{end}}`, `{{define "body"}}x{{end}}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := completeFS()
			fsys["ja/returned.tmpl"] = &fstest.MapFile{Data: []byte(tc.subject + tc.body)}
			tmpl, err := notify.ParseTemplates(fsys)
			if err != nil {
				t.Fatal(err)
			}
			m := sampleMessage("ob-1", notify.EventReturned, notify.LanguageJapanese)
			_, err = tmpl.Render(&m)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Render error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSubjectIsOneLine(t *testing.T) {
	fsys := completeFS()
	fsys["ja/returned.tmpl"] = &fstest.MapFile{Data: []byte("{{define \"subject\"}}\n  a\n\tb  \n{{end}}{{define \"body\"}}x{{end}}")}
	tmpl, err := notify.ParseTemplates(fsys)
	if err != nil {
		t.Fatal(err)
	}
	m := sampleMessage("ob-1", notify.EventReturned, notify.LanguageJapanese)
	mail, err := tmpl.Render(&m)
	if err != nil {
		t.Fatal(err)
	}
	if mail.Subject != "a b" {
		t.Errorf("subject = %q, want %q", mail.Subject, "a b")
	}
}

// FuzzRender: user-typed fields never panic the renderer, never break the
// subject onto a second header line, and appear verbatim when accepted.
func FuzzRender(f *testing.F) {
	f.Add("業務委託契約書", "第3条を修正してください。\n", "株式会社サンプル", "ja", "https://keiyaku.example.jp/c/1")
	f.Add("Service Agreement", "", "Sample Corp.", "en", "")
	f.Add("x\r\nBcc: a@b", "\x00", "{{.ID}}", "fr", "javascript:x")
	f.Add("", "", "", "", "http://")
	f.Add("a", "line1\r\nline2\rline3", "b", "ja", "")
	tmpl, err := notify.DefaultTemplates()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, caseName, reason, company, lang, url string) {
		m := sampleMessage("ob-1", notify.EventSentBack, notify.Language(lang))
		m.CaseName, m.Reason, m.From.Company, m.URL = caseName, reason, company, url
		mail, err := tmpl.Render(&m)
		if err != nil {
			if !errors.Is(err, notify.ErrInvalidMessage) && !errors.Is(err, notify.ErrUnknownLanguage) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if strings.ContainsAny(mail.Subject, "\r\n") {
			t.Fatalf("subject spans lines: %q", mail.Subject)
		}
		if strings.Contains(mail.Body, "\r") {
			t.Fatalf("body holds a CR: %q", mail.Body)
		}
		normReason := strings.ReplaceAll(strings.ReplaceAll(reason, "\r\n", "\n"), "\r", "\n")
		for _, s := range []string{caseName, company, strings.TrimSpace(normReason)} {
			if !strings.Contains(mail.Body, s) {
				t.Fatalf("body lacks %q", s)
			}
		}
	})
}
