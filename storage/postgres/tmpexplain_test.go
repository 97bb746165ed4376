package postgres_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/storage"
)

func TestTmpExplain(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for off := 0; off < 100000; off += 10000 {
		if err := s.ImportCases(ctx, benchCases(10000, off, rng), []storage.AuditEntry{{Time: time.Now(), Action: "i"}}); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, dsn(t)+"&search_path="+s.Schema())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q := `EXPLAIN (ANALYZE, BUFFERS) SELECT pg.version, b.body FROM (SELECT c.id, c.version, a.amount AS k FROM case_access a JOIN cases c ON c.id = a.case_id WHERE a.company_id = 'co7' AND a.user_id = '' AND EXISTS (SELECT 1 FROM case_parties cp WHERE cp.case_id = c.id AND (cp.company_id = '取引先1' OR strpos(cp.company_name, '取引先1') > 0)) AND a.amount >= 1000000 AND a.amount <= 5000000 ORDER BY a.amount ASC, a.case_id ASC LIMIT 51) pg JOIN case_bodies b ON b.id = pg.id ORDER BY pg.k ASC, pg.id ASC`
	rows, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		rows.Scan(&line)
		t.Log(line)
	}
	_ = strconv.Itoa
}
