package kmsg

import (
	_ "embed"
	"encoding/json"
	"errors"
	"sort"

	"golang.org/x/text/language"

	"github.com/keiyaku/keiyaku/kerr"
)

//go:embed messages.json
var messagesJSON []byte

// Languages are the catalog's languages, the default (for an unknown or
// empty preference) first.
var Languages = []string{"ja", "en"}

var (
	catalog = mustLoad()
	matcher = language.NewMatcher([]language.Tag{language.Japanese, language.English})
)

func mustLoad() map[string]map[string]string {
	var m map[string]map[string]string
	if err := json.Unmarshal(messagesJSON, &m); err != nil {
		panic("kmsg: messages.json: " + err.Error()) // embedded; TestCatalogComplete parses it
	}
	return m
}

// Match returns "ja" or "en", the catalog language that best fits the
// preferences given, each a BCP 47 tag or an Accept-Language value
// (RFC 9110 §12.5.4, q-values honoured), first preference first. With
// nothing that matches it returns def ("ja" or "en"; any other value
// means "ja").
func Match(def string, prefs ...string) string {
	var tags []language.Tag
	for _, p := range prefs {
		ts, _, err := language.ParseAcceptLanguage(p)
		if err == nil {
			tags = append(tags, ts...)
		}
	}
	if len(tags) > 0 {
		_, i, conf := matcher.Match(tags...)
		if conf != language.No {
			return Languages[i]
		}
	}
	if def == "en" {
		return "en"
	}
	return "ja"
}

// Text returns the text of code in lang ("ja" or "en"; anything else is
// "ja") with its placeholders filled from params, and whether the
// catalog has the code.
func Text(code, lang string, params ...kerr.Param) (string, bool) {
	tr, ok := catalog[code]
	if !ok {
		return "", false
	}
	if lang != "en" {
		lang = "ja"
	}
	s, ok := tr[lang]
	if !ok {
		return "", false
	}
	return kerr.Expand(s, params, func(p kerr.Param) string {
		if w, ok := catalog[p.Code][lang]; ok {
			return w
		}
		return p.Value
	}), true
}

// Localize returns the message of err in lang ("ja" or "en"): the text
// of the outermost kerr.Coded in its chain, without the operation names
// of the layers, and true; or "" and false when err carries no code the
// catalog knows (then show a generic text by kind).
func Localize(err error, lang string) (string, bool) {
	var c *kerr.Coded
	if !errors.As(err, &c) {
		return "", false
	}
	return Text(c.Code, lang, c.Params...)
}

// Codes returns every code in the catalog, sorted.
func Codes() []string {
	out := make([]string, 0, len(catalog))
	for c := range catalog {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// English returns the English text of code with its placeholders
// unfilled, and whether the catalog has it.
func English(code string) (string, bool) {
	s, ok := catalog[code]["en"]
	return s, ok
}

// Note returns the text of n in lang ("ja" or "en"): its catalog text
// when the catalog has its code, else its English text.
func Note(n kerr.Note, lang string) string {
	if n.Code != "" {
		if s, ok := Text(n.Code, lang, n.Params...); ok {
			return s
		}
	}
	return n.Text
}
