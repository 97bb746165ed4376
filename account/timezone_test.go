package account_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
)

func TestLoadTimeZone(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		offset int // seconds east of UTC on 2026-01-01; -1: refused
	}{
		{"", 9 * 3600}, {"Asia/Tokyo", 9 * 3600}, {"UTC", 0}, {"America/New_York", -5 * 3600},
		{"Local", -1}, {"Mars/Olympus", -1}, {"../../etc/passwd", -1},
	} {
		loc, err := account.LoadTimeZone(tt.name)
		if tt.offset == -1 {
			if !errors.Is(err, kerr.Invalid) {
				t.Errorf("%q: err = %v, want Invalid", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.name, err)
			continue
		}
		if _, off := jan.In(loc).Zone(); off != tt.offset {
			t.Errorf("%q: offset %d, want %d", tt.name, off, tt.offset)
		}
	}
}

func FuzzLoadTimeZone(f *testing.F) {
	for _, s := range []string{"", "Asia/Tokyo", "UTC", "Local", "Etc/GMT+9", "../x", "\x00", "Asia/Tokyo/../Tokyo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		loc, err := account.LoadTimeZone(name)
		if err != nil {
			if !errors.Is(err, kerr.Invalid) {
				t.Fatalf("%q: err = %v, want Invalid", name, err)
			}
			return
		}
		if loc == nil || loc == time.Local && name != "" {
			t.Fatalf("%q: a zone that depends on the server", name)
		}
	})
}
