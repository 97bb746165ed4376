package portal

import (
	"cloud.google.com/go/civil"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The message catalog is golang.org/x/text (message + catalog + language):
// it is already in the module graph (no new dependency), its matcher
// reads Accept-Language by the BCP 47 rules, and its printer formats
// numbers in the conventions of each language (¥1,100,000). go-i18n would
// add a dependency for the plural rules that these two languages do not
// need.

//go:embed messages.json
var messagesJSON []byte

// languages are the supported languages, the default first.
var languages = []language.Tag{language.Japanese, language.English}

var (
	matcher  = language.NewMatcher(languages)
	messages = mustCatalog()
)

// mustCatalog loads messages.json: {"key": {"ja": "...", "en": "..."}}.
func mustCatalog() *catalog.Builder {
	var m map[string]map[string]string
	if err := json.Unmarshal(messagesJSON, &m); err != nil {
		panic("portal: messages.json: " + err.Error()) // embedded; a test parses it
	}
	b := catalog.NewBuilder(catalog.Fallback(language.Japanese))
	for key, tr := range m {
		for _, tag := range languages {
			base, _ := tag.Base()
			if s, ok := tr[base.String()]; ok {
				_ = b.SetString(tag, key, s)
			}
		}
	}
	return b
}

// lang chooses the language of a request: the "lang" cookie the switch
// sets, then Accept-Language, then Japanese.
func lang(r *http.Request) language.Tag {
	var prefs []string
	if c, err := r.Cookie("lang"); err == nil {
		prefs = append(prefs, c.Value)
	}
	prefs = append(prefs, r.Header.Get("Accept-Language"))
	_, i := language.MatchStrings(matcher, prefs...)
	return languages[i]
}

func (h *Handler) setLanguage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	l := r.PostFormValue("lang")
	if l != "ja" && l != "en" {
		l = "ja"
	}
	http.SetCookie(w, &http.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	next := r.PostFormValue("next")
	if !localPath(next) {
		next = h.url("/")
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// localPath reports whether p is a path on this host (not //host or a
// scheme), safe to redirect to.
func localPath(p string) bool {
	return len(p) > 0 && p[0] == '/' && (len(p) == 1 || p[1] != '/' && p[1] != '\\')
}

// printer formats messages of one language.
type printer struct {
	tag language.Tag
	p   *message.Printer
}

func newPrinter(tag language.Tag) printer {
	return printer{tag: tag, p: message.NewPrinter(tag, message.Catalog(messages))}
}

func (pr printer) ja() bool { return pr.tag == language.Japanese }

// T returns the message key in the page's language.
func (pr printer) T(key string, args ...any) string { return pr.p.Sprintf(key, args...) }

// Yen formats an amount of yen with thousands separators: ¥1,100,000.
func (pr printer) Yen(amount int64) string { return pr.p.Sprintf("¥%d", amount) }

// Num formats an integer with thousands separators.
func (pr printer) Num(n int64) string { return pr.p.Sprintf("%d", n) }

// Date formats a calendar date: 2026年12月4日, or 4 Dec 2026.
// The zero date is "—".
func (pr printer) Date(d civil.Date) string {
	if d.IsZero() {
		return "—"
	}
	if pr.ja() {
		return fmt.Sprintf("%d年%d月%d日", d.Year, d.Month, d.Day)
	}
	return fmt.Sprintf("%d %s %d", d.Day, d.Month.String()[:3], d.Year)
}

// jst is Japan Standard Time (no daylight saving), the zone times are shown in.
var jst = time.FixedZone("JST", 9*3600)

// Time formats an instant in Japan time.
func (pr printer) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(jst)
	if pr.ja() {
		return fmt.Sprintf("%d年%d月%d日 %02d:%02d JST", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute())
	}
	return t.Format("2 Jan 2006 15:04 MST")
}

// Lang is the page's language as an HTML lang attribute.
func (pr printer) Lang() string {
	if pr.ja() {
		return "ja"
	}
	return "en"
}
