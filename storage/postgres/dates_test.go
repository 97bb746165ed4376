package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

// TestCalendarDates runs storagetest.RunCalendarDates with the server's
// TimeZone setting (sent by pgx as a run-time parameter) following the
// process's zone. Not parallel: the suite sets time.Local.
func TestCalendarDates(t *testing.T) {
	dsn(t)
	storagetest.RunCalendarDates(t, func(t *testing.T, zone string) storage.Store {
		d, schema := freshSchema(t)
		sep := "?"
		if strings.Contains(d, "?") {
			sep = "&"
		}
		s, err := postgres.Open(context.Background(), postgres.Config{DSN: d + sep + "timezone=" + url.QueryEscape(zone), Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
