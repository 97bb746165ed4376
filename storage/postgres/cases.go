package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// storable reports whether PostgreSQL text can hold s: valid UTF-8 without
// NUL bytes. A key that is not storable names no stored record.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// checkText refuses a query value PostgreSQL cannot compare as text.
func checkText(op, field, v string) error {
	if !storable(v) {
		return kerr.E(kerr.Invalid, op, "%s holds a NUL byte or invalid UTF-8, which PostgreSQL text cannot hold", field)
	}
	return nil
}

// caseColumns are the searchable columns of cases after id, in the order
// of caseArgs.
const caseColumns = `version, form, state, category, original_id, name, order_number, amount, currency,
	transaction_date, registrant_company, registrant_user, created_at, updated_at, completed_at`

func caseArgs(c *storage.Case) []any {
	return []any{c.ID, c.Version, c.Form, c.State, c.Category, c.OriginalID, c.Name, c.OrderNumber,
		c.Amount, c.Currency, storage.DateSeconds(c.TransactionDate), c.RegistrantCompanyID, c.RegistrantUserID,
		nanos(c.CreatedAt), nanos(c.UpdatedAt), nanos(c.CompletedAt)}
}

// CommitCase implements storage.CaseStore.
func (s *Store) CommitCase(ctx context.Context, c *storage.CaseCommit) error {
	const op = "postgres.CommitCase"
	if err := c.Check(op); err != nil {
		return err
	}
	row := *c.Case
	row.Version = c.Case.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	// Events are encoded before the transaction: an unencodable event
	// fails the call without touching the database.
	events, err := eventRows(op, c.Events)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx pgx.Tx) error {
		// The row statement decides the version rules; everything after
		// it goes in one batch (one round trip), then the audit append.
		b := &pgx.Batch{}
		if c.Case.Version == 0 {
			tag, err := tx.Exec(ctx, `INSERT INTO cases (id, `+caseColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
				ON CONFLICT (id) DO NOTHING`, caseArgs(&row)...)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return kerr.E(kerr.Conflict, op, "case %q exists already", row.ID)
			}
			b.Queue(`INSERT INTO case_bodies (id, body) VALUES ($1, $2)`, row.ID, body)
		} else {
			// The UPDATE locks the row; a concurrent writer of the same
			// version waits and then matches nothing (see the package doc).
			tag, err := tx.Exec(ctx, `UPDATE cases SET (`+caseColumns+`) =
				($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
				WHERE id = $1 AND version = $17`, append(caseArgs(&row), c.Case.Version)...)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return versionError(ctx, tx, op, "case", "cases", row.ID, c.Case.Version)
			}
			b.Queue(`UPDATE case_bodies SET body = $2 WHERE id = $1`, row.ID, body)
			b.Queue(`DELETE FROM case_parties WHERE case_id = $1`, row.ID)
			b.Queue(`DELETE FROM case_access WHERE case_id = $1`, row.ID)
		}
		queueParties(b, &row)
		queueAccess(b, &row)
		queueBlobRefs(b, &row) // retention.go
		if c.Retention != nil {
			if err := queueRetention(b, op, c.Retention); err != nil { // retention.go
				return err
			}
		}
		queueEvents(b, op, events)
		queueWebhookDeliveries(b, op, c.Webhooks)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		sealed, err = appendAudit(ctx, tx, op, c.Audit)
		return err
	})
	if err != nil {
		return err
	}
	c.Case.Version = row.Version
	copy(c.Audit, sealed)
	return nil
}

// versionError explains why an UPDATE ... WHERE id = $1 AND version = $2
// matched no row: the record is missing (kerr.NotFound) or at another
// version (kerr.Conflict). table is one of our constant names.
func versionError(ctx context.Context, tx pgx.Tx, op, what, table, id string, version int64) error {
	var stored int64
	err := tx.QueryRow(ctx, `SELECT version FROM `+table+` WHERE id = $1`, id).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return kerr.E(kerr.NotFound, op, "%s %q does not exist", what, id)
	}
	if err != nil {
		return err
	}
	return kerr.E(kerr.Conflict, op, "%s %q is at version %d, not %d: it was changed meanwhile; reload it and try again", what, id, stored, version)
}

func queueParties(b *pgx.Batch, c *storage.Case) {
	n := len(c.Parties)
	if n == 0 {
		return
	}
	caseID, company, name, user, idx := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]int32, n)
	for i, p := range c.Parties {
		caseID[i], idx[i], company[i], name[i], user[i] = c.ID, int32(i), p.CompanyID, p.CompanyName, p.UserID
	}
	b.Queue(`INSERT INTO case_parties (case_id, idx, company_id, company_name, user_id)
		SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])`, caseID, idx, company, name, user)
}

// accessRow is one case_access row.
type accessRow struct {
	company, user, caseID                     string
	updated, completed, amount, transactionAt int64
}

// accessRows returns the case_access rows of c, one per Scope that
// includes it, with the sort columns copied in.
func accessRows(c *storage.Case) []accessRow {
	var out []accessRow
	for _, sc := range c.Scopes() {
		out = append(out, accessRow{sc.CompanyID, sc.UserID, c.ID, nanos(c.UpdatedAt), nanos(c.CompletedAt), c.Amount, storage.DateSeconds(c.TransactionDate)})
	}
	return out
}

func queueAccess(b *pgx.Batch, c *storage.Case) {
	var company, user, caseID []string
	var updated, completed, amount, txAt []int64
	for _, a := range accessRows(c) {
		company, user, caseID = append(company, a.company), append(user, a.user), append(caseID, a.caseID)
		updated, completed, amount, txAt = append(updated, a.updated), append(completed, a.completed), append(amount, a.amount), append(txAt, a.transactionAt)
	}
	b.Queue(`INSERT INTO case_access (company_id, user_id, case_id, updated_at, completed_at, amount, transaction_date)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])`,
		company, user, caseID, updated, completed, amount, txAt)
}

// GetCase implements storage.CaseStore.
func (s *Store) GetCase(ctx context.Context, id string) (*storage.Case, error) {
	const op = "postgres.GetCase"
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}
	if !storable(id) {
		return nil, kerr.E(kerr.NotFound, op, "case %q does not exist", id)
	}
	var version int64
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT c.version, b.body FROM cases c JOIN case_bodies b ON b.id = c.id WHERE c.id = $1`, id).Scan(&version, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "case %q does not exist", id)
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	var c storage.Case
	if err := decode(op, body, &c); err != nil {
		return nil, err
	}
	c.Version = version
	return &c, nil
}

var sortColumns = map[storage.SortKey]string{
	storage.SortUpdated:         "updated_at",
	storage.SortCreated:         "created_at",
	storage.SortTransactionDate: "transaction_date",
	storage.SortAmount:          "amount",
	storage.SortCompleted:       "completed_at",
	storage.SortName:            "name",
}

// accessSorts are the sort keys copied into case_access.
var accessSorts = map[storage.SortKey]bool{
	storage.SortUpdated: true, storage.SortTransactionDate: true, storage.SortAmount: true, storage.SortCompleted: true,
}

// SearchCases implements storage.CaseStore.
func (s *Store) SearchCases(ctx context.Context, in *storage.CaseQuery) (*storage.CasePage, error) {
	const op = "postgres.SearchCases"
	q := *in
	if err := q.Validate(); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	var cur *storage.Cursor
	if q.Cursor != "" {
		c, err := storage.DecodeCursor(q.Cursor, &q)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		cur = &c
	}
	texts := []struct{ field, v string }{{"Scope.CompanyID", q.Scope.CompanyID}, {"Scope.UserID", q.Scope.UserID}, {"HiddenFor", q.HiddenFor}, {"DisclosureID", q.DisclosureID},
		{"NameContains", q.NameContains}, {"OrderNumber", q.OrderNumber}, {"Counterparty", q.Counterparty}, {"OriginalID", q.OriginalID}}
	if cur != nil {
		texts = append(texts, struct{ field, v string }{"Cursor", cur.ID + cur.Text})
	}
	for _, list := range [][]string{q.States, q.Forms, q.Categories} {
		for _, v := range list {
			texts = append(texts, struct{ field, v string }{"States, Forms or Categories", v})
		}
	}
	for _, t := range texts {
		if err := checkText(op, t.field, t.v); err != nil {
			return nil, err
		}
	}
	if err := s.live(ctx, op); err != nil {
		return nil, err
	}

	var where []string
	var params []any
	p := func(v any) string {
		params = append(params, v)
		return "$" + strconv.Itoa(len(params))
	}
	// With a scope, the company's (or user's) case_access rows drive the
	// query; for the sort keys they carry they also give the order, so a
	// page is one index range. Range bounds go on the copies too, to
	// narrow that range.
	from, col, idCol, rng := `cases c`, "c."+sortColumns[q.Sort], "c.id", "c."
	if q.Scope.CompanyID != "" {
		from = `case_access a JOIN cases c ON c.id = a.case_id`
		where = append(where, `a.company_id = `+p(q.Scope.CompanyID)+` AND a.user_id = `+p(q.Scope.UserID))
		rng = "a."
		if accessSorts[q.Sort] {
			col, idCol = "a."+sortColumns[q.Sort], "a.case_id"
		}
	}
	hidCol := "c.id"
	if q.Scope.CompanyID != "" {
		hidCol = "a.case_id"
	}
	from, where = hiddenFilter(&q, from, hidCol, where, p) // personal.go
	where = disclosureFilter(&q, hidCol, where, p)         // disclosure.go
	// In a fixed order, so that equal queries have equal SQL text and
	// share pgx's cached prepared statement.
	for _, f := range []struct {
		column string
		list   []string
	}{{"c.state", q.States}, {"c.form", q.Forms}, {"c.category", q.Categories}} {
		if len(f.list) > 0 {
			where = append(where, f.column+` = ANY(`+p(f.list)+`::text[])`)
		}
	}
	if q.NameContains != "" {
		where = append(where, `strpos(c.name, `+p(q.NameContains)+`) > 0`)
	}
	if q.OrderNumber != "" {
		where = append(where, `strpos(c.order_number, `+p(q.OrderNumber)+`) > 0`)
	}
	if q.Counterparty != "" {
		v := p(q.Counterparty)
		where = append(where, `EXISTS (SELECT 1 FROM case_parties cp WHERE cp.case_id = c.id AND (cp.company_id = `+v+` OR strpos(cp.company_name, `+v+`) > 0))`)
	}
	if q.OriginalID != "" {
		where = append(where, `c.original_id = `+p(q.OriginalID))
	}
	if q.AmountMin != nil {
		where = append(where, rng+`amount >= `+p(*q.AmountMin))
	}
	if q.AmountMax != nil {
		where = append(where, rng+`amount <= `+p(*q.AmountMax))
	}
	if !q.TransactionFrom.IsZero() {
		where = append(where, rng+`transaction_date >= `+p(storage.DateSeconds(q.TransactionFrom)))
	}
	if !q.TransactionTo.IsZero() {
		where = append(where, rng+`transaction_date <= `+p(storage.DateSeconds(q.TransactionTo)))
	}
	if !q.CompletedFrom.IsZero() || !q.CompletedTo.IsZero() {
		where = append(where, rng+`completed_at <> 0`)
	}
	if !q.CompletedFrom.IsZero() {
		where = append(where, rng+`completed_at >= `+p(q.CompletedFrom.UnixNano()))
	}
	if !q.CompletedTo.IsZero() {
		where = append(where, rng+`completed_at <= `+p(q.CompletedTo.UnixNano()))
	}
	cmp, dir := ">", "ASC"
	if q.Desc {
		cmp, dir = "<", "DESC"
	}
	if cur != nil {
		var v any = cur.Int
		if q.Sort == storage.SortName {
			v = cur.Text
		}
		// A row comparison, which PostgreSQL turns into one index range.
		where = append(where, `(`+col+`, `+idCol+`) `+cmp+` (`+p(v)+`, `+p(cur.ID)+`)`)
	}
	// Two phases: sort and limit the narrow rows, then fetch the bodies of
	// the page only.
	inner := `SELECT c.id, c.version, ` + col + ` AS k FROM ` + from
	if len(where) > 0 {
		inner += ` WHERE ` + strings.Join(where, ` AND `)
	}
	inner += ` ORDER BY ` + col + ` ` + dir + `, ` + idCol + ` ` + dir + ` LIMIT ` + p(q.Limit+1)
	sqlText := `SELECT pg.version, b.body FROM (` + inner + `) pg JOIN case_bodies b ON b.id = pg.id ORDER BY pg.k ` + dir + `, pg.id ` + dir
	rows, err := s.pool.Query(ctx, sqlText, params...)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	page := &storage.CasePage{}
	for rows.Next() {
		var version int64
		var body []byte
		if err := rows.Scan(&version, &body); err != nil {
			return nil, dbErr(ctx, op, err)
		}
		var c storage.Case
		if err := decode(op, body, &c); err != nil {
			return nil, err
		}
		c.Version = version
		page.Cases = append(page.Cases, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, op, err)
	}
	if len(page.Cases) > q.Limit {
		page.Cases = page.Cases[:q.Limit]
		next := storage.CursorAfter(page.Cases[q.Limit-1], q.Sort)
		next.Desc = q.Desc
		page.Next = storage.EncodeCursor(next)
	}
	return page, nil
}

// ImportCases implements storage.BulkLoader with COPY: the cases, their
// bodies, parties and access rows are streamed in four COPY commands in one
// transaction. An ID that exists (or repeats in the batch) fails the COPY
// with a unique violation: kerr.Conflict, and nothing is written.
func (s *Store) ImportCases(ctx context.Context, cases []*storage.Case, audit []storage.AuditEntry) error {
	const op = "postgres.ImportCases"
	if len(cases) == 0 || len(cases) > storage.MaxImportBatch {
		return kerr.E(kerr.Invalid, op, "import 1 to %d cases per call, not %d", storage.MaxImportBatch, len(cases))
	}
	rows := make([]*storage.Case, len(cases))
	bodies := make([][]any, len(cases))
	caseRows := make([][]any, len(cases))
	for i, c := range cases {
		if c == nil || c.ID == "" || c.Version != 0 {
			return kerr.E(kerr.Invalid, op, "case %d: imported cases need an ID and version 0", i)
		}
		if err := c.CheckDate(op); err != nil {
			return err
		}
		row := *c
		row.Version = 1
		b, err := encode(op, &row)
		if err != nil {
			return err
		}
		rows[i], bodies[i], caseRows[i] = &row, []any{row.ID, b}, caseArgs(&row)
	}
	var parties, access, refs [][]any
	for _, c := range rows {
		for j, p := range c.Parties {
			parties = append(parties, []any{c.ID, int32(j), p.CompanyID, p.CompanyName, p.UserID})
		}
		for _, a := range accessRows(c) {
			access = append(access, []any{a.company, a.user, a.caseID, a.updated, a.completed, a.amount, a.transactionAt})
		}
		refs = appendBlobRefs(refs, c) // retention.go
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		copies := []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"cases", append([]string{"id"}, strings.Fields(strings.ReplaceAll(caseColumns, ",", " "))...), caseRows},
			{"case_bodies", []string{"id", "body"}, bodies},
			{"case_parties", []string{"case_id", "idx", "company_id", "company_name", "user_id"}, parties},
			{"case_access", []string{"company_id", "user_id", "case_id", "updated_at", "completed_at", "amount", "transaction_date"}, access},
			{"case_blobs", []string{"blob_key", "case_id"}, refs},
		}
		for _, c := range copies {
			if len(c.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				if kerr.Of(dbErr(ctx, op, err)) == kerr.Conflict {
					return kerr.WrapKind(kerr.Conflict, op, "a case in the batch exists already (or is in it twice); nothing was imported", err)
				}
				return err
			}
		}
		var err error
		sealed, err = appendAudit(ctx, tx, op, audit)
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range cases {
		c.Version = 1
	}
	copy(audit, sealed)
	// Refresh the planner's statistics after a bulk change rather than
	// waiting for autovacuum; ANALYZE samples, so its cost is bounded. Best
	// effort: the import has committed, so a failure here is not the
	// caller's error.
	_, _ = s.pool.Exec(ctx, `ANALYZE cases, case_access, case_parties`)
	return nil
}
