package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
)

//go:embed all:templates
var builtinFS embed.FS

// Mail is a rendered notice, ready for a Mailer.
type Mail struct {
	// ID is the outbox row ID (Message.ID); mailers derive the Message-ID
	// header from it so repeated deliveries of one row can be recognised.
	ID string
	// To is the recipient's bare address; ToName its display name (may be
	// empty).
	To, ToName string
	// Subject is a single line of UTF-8; mailers encode it per RFC 2047.
	Subject string
	// Body is UTF-8 plain text with "\n" line ends.
	Body string
	// Language is the language the notice was rendered in.
	Language Language
	// Date is the origination date (RFC 5322 §3.6.1); the Worker sets it
	// from its clock. Zero leaves the choice to the mailer.
	Date time.Time
}

// MaxRenderedSize caps a rendered subject plus body, in bytes, so that a
// faulty custom template cannot produce an unbounded mail.
const MaxRenderedSize = 64 << 10

// jst is Japan Standard Time. Japan has kept UTC+9 without daylight saving
// since 1952, so a fixed zone is exact and needs no tzdata on the host.
var jst = time.FixedZone("JST", 9*60*60)

// Templates holds a subject and body template for every event type in every
// supported language. It is safe for concurrent use.
type Templates struct {
	sets map[Language]map[EventType]*template.Template
}

var defaultTemplates = sync.OnceValues(func() (*Templates, error) {
	sub, err := fs.Sub(builtinFS, "templates")
	if err != nil {
		return nil, err
	}
	return ParseTemplates(sub)
})

// DefaultTemplates returns the built-in Japanese and English templates. The
// error is non-nil only if the embedded files are broken, which the
// package's tests rule out.
func DefaultTemplates() (*Templates, error) { return defaultTemplates() }

// ParseTemplates reads a template set from fsys, so an embedder can word
// (or brand) the notices its own way. The layout is the one of the built-in
// set: for each language in Languages(), the file "<lang>/<event>.tmpl" for
// each event in EventTypes(), each defining the templates "subject" and
// "body", plus any number of shared "<lang>/_*.tmpl" files defining
// partials (an embed.FS skips files starting with "_" unless the
// directive says "all:"). The data is the Message; the function "datetime" formats a
// time.Time in Japan Standard Time in the style of the language.
//
// A set must be complete: a missing file or a file that does not define
// both "subject" and "body" is an error wrapping ErrNoTemplate, reported
// here rather than when a notice is due.
const opParse = "notify.ParseTemplates"

func ParseTemplates(fsys fs.FS) (*Templates, error) {
	t := &Templates{sets: make(map[Language]map[EventType]*template.Template)}
	for _, lang := range Languages() {
		partials, err := fs.Glob(fsys, string(lang)+"/_*.tmpl")
		if err != nil {
			return nil, kerr.E(kerr.Invalid, opParse, "templates for %s: %w", lang, err)
		}
		t.sets[lang] = make(map[EventType]*template.Template)
		for _, ev := range EventTypes() {
			name := string(lang) + "/" + string(ev) + ".tmpl"
			if _, err := fs.Stat(fsys, name); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("%w: %s not found", ErrNoTemplate, name)
				}
				return nil, kerr.E(kerr.Invalid, opParse, "template %s: %w", name, err)
			}
			tmpl, err := template.New(name).Funcs(funcs(lang)).Option("missingkey=error").
				ParseFS(fsys, append(partials, name)...)
			if err != nil {
				return nil, kerr.E(kerr.Invalid, opParse, "template %s: %w", name, err)
			}
			for _, part := range []string{"subject", "body"} {
				if tmpl.Lookup(part) == nil {
					return nil, fmt.Errorf("%w: %s does not define %q", ErrNoTemplate, name, part)
				}
			}
			t.sets[lang][ev] = tmpl
		}
	}
	return t, nil
}

func funcs(lang Language) template.FuncMap {
	layout := "2006-01-02 15:04 JST"
	if lang == LanguageJapanese {
		layout = "2006年1月2日 15:04（日本時間）"
	}
	return template.FuncMap{
		"datetime": func(t time.Time) string { return t.In(jst).Format(layout) },
	}
}

// Render validates m (see Message.Validate) and renders it as an e-mail,
// whatever its Channel (Recipient.Email is then required), in the
// recipient's language, an empty Recipient.Language meaning Japanese. It
// returns an error wrapping ErrInvalidMessage, ErrUnknownEvent or
// ErrUnknownLanguage for a bad message, and ErrNoTemplate when the set
// lacks the template or it renders an empty subject. The returned Mail has
// a zero Date.
func (t *Templates) Render(m *Message) (Mail, error) {
	if err := m.Validate(); err != nil {
		return Mail{}, err
	}
	if m.Recipient.Email == "" {
		return Mail{}, fmt.Errorf("%w: Recipient.Email is required for an e-mail", ErrInvalidMessage)
	}
	lang, _ := m.Recipient.Language.resolve() // checked by Validate
	tmpl := t.sets[lang][m.Type]
	if tmpl == nil {
		return Mail{}, fmt.Errorf("%w: %s/%s", ErrNoTemplate, lang, m.Type)
	}
	lw := &limitedBuffer{max: MaxRenderedSize}
	if err := tmpl.ExecuteTemplate(lw, "subject", m); err != nil {
		return Mail{}, kerr.E(kerr.Invalid, "notify.Templates.Render", "subject %s/%s: %w", lang, m.Type, err)
	}
	// A subject is one header line: fold every run of white space,
	// line breaks included, into a single space (RFC 5322 §2.2).
	subject := strings.Join(strings.Fields(lw.buf.String()), " ")
	if subject == "" {
		return Mail{}, fmt.Errorf("%w: %s/%s renders an empty subject", ErrNoTemplate, lang, m.Type)
	}
	lw.buf.Reset()
	if err := tmpl.ExecuteTemplate(lw, "body", m); err != nil {
		return Mail{}, kerr.E(kerr.Invalid, "notify.Templates.Render", "body %s/%s: %w", lang, m.Type, err)
	}
	body := newlines.Replace(lw.buf.String())
	body = strings.TrimSpace(body) + "\n"
	return Mail{
		ID:       m.ID,
		To:       m.Recipient.Email,
		ToName:   m.Recipient.Name,
		Subject:  subject,
		Body:     body,
		Language: lang,
	}, nil
}

// newlines turns CRLF and lone CR (from a user's Reason) into LF; the
// mailer writes CRLF on the wire (RFC 5322 §2.3 forbids bare CR).
var newlines = strings.NewReplacer("\r\n", "\n", "\r", "\n")

var errTooLarge = fmt.Errorf("rendered notice exceeds %d bytes", MaxRenderedSize)

// limitedBuffer fails writes past max bytes in total.
type limitedBuffer struct {
	buf     bytes.Buffer
	max     int
	written int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.written+len(p) > l.max {
		return 0, errTooLarge
	}
	l.written += len(p)
	return l.buf.Write(p)
}
