package account_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
)

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		want     error // nil: accepted
	}{
		{"too short", "Xk9#mQ2", account.ErrPasswordLength},
		{"too long", strings.Repeat("Xk9#mQ2vLp", 13), account.ErrPasswordLength},
		{"invalid UTF-8", "abcdefghij\xff", account.ErrPasswordLength},
		{"common", "password123", account.ErrPasswordCommon},
		{"common with l33t and a year", "p@ssw0rd2026", account.ErrPasswordCommon},
		{"keyboard run", "qwertyuiop", account.ErrPasswordCommon},
		{"repeated", "aaaaaaaaaaaaaaa", account.ErrPasswordPattern},
		{"sequential", "abcdefghijklmnop", account.ErrPasswordPattern},
		{"login ID plus year", "tanaka.taro2024", account.ErrPasswordPersonal},
		{"Japanese company name plus year", "株式会社ケイヤク2024", account.ErrPasswordPersonal},
		{"company name romanised", "keiyakukeiyaku1", account.ErrPasswordPersonal},
		{"random", "Xk9#mQ2vLp", nil},
		{"passphrase", "correct horse battery staple", nil},
		{"Japanese passphrase", "ひみつの合言葉はさくら色", nil},
		{"login ID inside a strong phrase", "taro plays violin at dawn", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := account.CheckPassword(tc.pw, "tanaka.taro", "株式会社ケイヤク")
			if tc.want == nil {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, kerr.Invalid) || !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want kerr.Invalid wrapping %v", err, tc.want)
			}
		})
	}
}
