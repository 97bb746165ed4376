// Package kmsg is keiyaku's message catalog: the Japanese and English
// texts of the refusals that carry a stable message code (kerr.Coded),
// so that the REST API (problem detail, by Accept-Language) and the
// portal (error pages, notices, verification reasons) show each refusal
// once, in the user's language, saying what was wrong and what to do.
//
// The catalog is messages.json, embedded: {"code": {"ja": "…", "en": "…"}}.
// Texts name their parameters as {name}, filled from the error's
// kerr.Param values; a parameter with a code of its own (a case state, an
// event) is translated from the catalog too. The English text of a code is
// the text its refusal site gives kerr.M, so err.Error() and the English
// catalog agree (a test checks every code site in the module against the
// catalog).
//
// The catalog is plain JSON read with golang.org/x/text/language for the
// language choice: x/text is already in the module (the portal uses it),
// its matcher reads Accept-Language by the BCP 47 rules, and named
// placeholders need only kerr.Expand. go-i18n would add a dependency for
// plural rules that Japanese and English messages without counts do not
// need, and x/text/message's positional %[1]s verbs would make the
// catalog harder to translate than {file} or {page}.
package kmsg
