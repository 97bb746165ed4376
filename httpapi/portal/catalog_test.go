package portal_test

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/httpapi/portal"
)

// TestRefusalInTheUsersLanguage: the portal shows a coded refusal in its
// own words, in the page's language, instead of a generic guess and the
// English technical text (issue 9).
func TestRefusalInTheUsersLanguage(t *testing.T) {
	w := newWorld(t, portal.Brand{})
	c := w.client()
	c.login(w.co["A"])
	fields := map[string]string{"form": "bilateral", "name": "空の契約", "amount": "1000", "date": "2026-12-01", "party1": w.co["B"].party()}
	for _, tt := range []struct {
		lang, file string
		doc        []byte
		want       string
	}{
		{"ja", "empty.pdf", []byte{}, "アップロードされた empty.pdf は空です。ファイルを選び直してアップロードしてください。"},
		{"en", "empty.pdf", []byte{}, "the upload empty.pdf is empty: choose the file again and upload it"},
		{"ja", "unsigned.pdf", contract("unsigned"), "unsigned.pdf に署名がありません。貴社の証明書で署名してから、もう一度アップロードしてください。"},
		{"en", "unsigned.pdf", contract("unsigned"), "unsigned.pdf is not signed: sign it with your certificate and upload it again"},
	} {
		ct, body := multipartBody(t, fields, tt.file, tt.doc)
		resp, page := c.do(http.MethodPost, "/cases/new", body, ct, map[string]string{"Accept-Language": tt.lang})
		page = html.UnescapeString(page)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `<p id="refusal">`+tt.want+`</p>`) {
			t.Errorf("%s %s: %d; want the refusal %q", tt.lang, tt.file, resp.StatusCode, tt.want)
		}
		// Said once: not again as the English technical detail.
		if strings.Count(page, tt.file+" ") > 1 || strings.Contains(page, "casework.Register") {
			t.Errorf("%s %s: the refusal is repeated or shows its layers", tt.lang, tt.file)
		}
	}
}
