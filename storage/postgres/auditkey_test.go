package postgres_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/postgres"
	"github.com/keiyaku/keiyaku/storage/storagetest"
)

func TestAuditKeyConformance(t *testing.T) {
	t.Parallel()
	dsn(t)
	var mu sync.Mutex
	where := map[storage.Store][2]string{}
	open := func(t *testing.T, key *storage.AuditKey) storage.Store {
		d, schema := freshSchema(t)
		s, err := postgres.Open(context.Background(), postgres.Config{DSN: d, Schema: schema, AuditKey: key})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		where[s] = [2]string{d, schema}
		mu.Unlock()
		return s
	}
	rewrite := func(t *testing.T, s storage.Store, es []storage.AuditEntry) {
		mu.Lock()
		w := where[s]
		mu.Unlock()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, w[0])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `ALTER TABLE `+w[1]+`.audit DISABLE TRIGGER audit_no_change`); err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if _, err := conn.Exec(ctx, `UPDATE `+w[1]+`.audit SET at=$1, actor_user=$2, actor_company=$3, remote_addr=$4, action=$5, case_id=$6, detail=$7, prev_hash=$8, hash=$9, key_id=$10 WHERE seq=$11`,
				e.Time.UnixNano(), e.ActorUserID, e.ActorCompanyID, e.RemoteAddr, e.Action, e.CaseID, e.Detail, e.PrevHash, e.Hash, e.KeyID, e.Seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	storagetest.RunAuditKey(t, open, rewrite)
}

func TestAuditAnchorsConformance(t *testing.T) {
	t.Parallel()
	dsn(t)
	var mu sync.Mutex
	where := map[storage.Store][2]string{}
	open := func(t *testing.T) storage.Store {
		d, schema := freshSchema(t)
		s, err := postgres.Open(context.Background(), postgres.Config{DSN: d, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		where[s] = [2]string{d, schema}
		mu.Unlock()
		return s
	}
	truncate := func(t *testing.T, s storage.Store, from int64) {
		mu.Lock()
		w := where[s]
		mu.Unlock()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, w[0])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, q := range []string{
			`ALTER TABLE ` + w[1] + `.audit DISABLE TRIGGER audit_no_change`,
			`DELETE FROM ` + w[1] + `.audit WHERE seq >= ` + strconv.FormatInt(from, 10),
			// A careful attacker also moves the head back.
			`UPDATE ` + w[1] + `.audit_head SET seq = a.seq, hash = a.hash FROM (SELECT seq, hash FROM ` + w[1] + `.audit ORDER BY seq DESC LIMIT 1) a`,
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	storagetest.RunAuditAnchors(t, open, truncate)
}
