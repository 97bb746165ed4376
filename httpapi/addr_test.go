package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientAddr: X-Forwarded-For is believed only from a trusted proxy,
// and then only up to the first address that is not one.
func TestClientAddr(t *testing.T) {
	h := &API{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct{ name, peer, xff, want string }{
		{"direct", "192.0.2.1:4000", "", "192.0.2.1"},
		{"spoofed by a client", "192.0.2.1:4000", "198.51.100.7", "192.0.2.1"},
		{"through the proxy", "10.1.2.3:4000", "198.51.100.7", "198.51.100.7"},
		{"client-supplied prefix ignored", "10.1.2.3:4000", "203.0.113.9, 198.51.100.7, 10.0.0.5", "198.51.100.7"},
		{"garbage from the proxy", "10.1.2.3:4000", "not an address", "10.1.2.3"},
		{"only proxies", "10.1.2.3:4000", "10.0.0.9", "10.1.2.3"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := h.clientAddr(r); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestJapanese: Accept-Language picks ja or en by q-value.
func TestJapanese(t *testing.T) {
	for _, tc := range []struct {
		h    string
		want bool
	}{{"ja", true}, {"ja-JP,en;q=0.5", true}, {"en,ja;q=0.9", false}, {"en;q=0.1,ja;q=0.8", true}, {"", false}, {"fr", false}, {"ja;q=0", false}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", tc.h)
		if got := japanese(r); got != tc.want {
			t.Errorf("%q: %v", tc.h, got)
		}
	}
}
