package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// CommitCase implements storage.CaseStore.
func (s *Store) CommitCase(ctx context.Context, c *storage.CaseCommit) error {
	const op = "sqlite.CommitCase"
	if err := c.Check(op); err != nil {
		return err
	}
	row := *c.Case
	row.Version = c.Case.Version + 1
	body, err := encode(op, &row)
	if err != nil {
		return err
	}
	var sealed []storage.AuditEntry
	err = s.write(ctx, op, func(tx *wtx) error {
		args := []any{row.Version, row.Form, row.State, row.Category, row.OriginalID, row.Name, row.OrderNumber,
			row.Amount, row.Currency, storage.DateSeconds(row.TransactionDate), row.RegistrantCompanyID, row.RegistrantUserID,
			nanos(row.CreatedAt), nanos(row.UpdatedAt), nanos(row.CompletedAt), row.ID}
		old, err := storedColumns(ctx, tx, row.ID, args)
		if err != nil {
			return dbErr(op, err)
		}
		exists := old != nil
		switch {
		case c.Case.Version == 0 && exists:
			return kerr.E(kerr.Conflict, op, "case %q exists already", row.ID)
		case c.Case.Version > 0 && !exists:
			return kerr.E(kerr.NotFound, op, "case %q does not exist", row.ID)
		case c.Case.Version > 0 && old[0] != c.Case.Version:
			return kerr.E(kerr.Conflict, op, "case %q is at version %d, not %d: it was changed meanwhile; reload it and try again", row.ID, old[0], c.Case.Version)
		}
		if exists {
			err = updateCase(ctx, tx, op, &row, body, args, old)
		} else {
			err = insertCase(ctx, tx, op, &row, body, args)
		}
		if err != nil {
			return err
		}
		if err := insertBlobRefs(ctx, tx, op, &row); err != nil { // retention.go
			return err
		}
		if c.Retention != nil {
			if err := upsertRetention(ctx, tx, op, c.Retention); err != nil { // retention.go
				return err
			}
		}
		for _, ev := range c.Events {
			if err := insertEvent(ctx, tx, op, ev); err != nil {
				return err
			}
		}
		for i := range c.Webhooks {
			if err := insertWebhookDelivery(ctx, tx, op, &c.Webhooks[i]); err != nil {
				return err
			}
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

// caseColumns are the columns of cases in the order of CommitCase's args;
// id follows them.
var caseColumns = [...]string{"version", "form", "state", "category", "original_id", "name", "order_number",
	"amount", "currency", "transaction_date", "registrant_company", "registrant_user",
	"created_at", "updated_at", "completed_at"}

// selectColumns reads a case's columns in caseColumns order.
var selectColumns = `SELECT ` + strings.Join(caseColumns[:], ", ") + ` FROM cases WHERE id = ?`

// storedColumns returns the stored columns of case id, typed like args
// (string or int64), or nil if there is no such case.
func storedColumns(ctx context.Context, tx *wtx, id string, args []any) ([]any, error) {
	dst := make([]any, len(caseColumns))
	for i := range dst {
		switch args[i].(type) {
		case string:
			dst[i] = new(string)
		default:
			dst[i] = new(int64)
		}
	}
	err := tx.QueryRowContext(ctx, selectColumns, id).Scan(dst...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]any, len(dst))
	for i, d := range dst {
		switch d := d.(type) {
		case *string:
			out[i] = *d
		case *int64:
			out[i] = *d
		}
	}
	return out, nil
}

func insertCase(ctx context.Context, tx *wtx, op string, row *storage.Case, body string, args []any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cases (`+strings.Join(caseColumns[:], ", ")+`, id) VALUES (`+placeholders(len(args))+`)`, args...)
	if err == nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO case_bodies (id, body) VALUES (?, ?)`, row.ID, body)
	}
	if err != nil {
		return dbErr(op, err)
	}
	if err := insertParties(ctx, tx, op, row); err != nil {
		return err
	}
	return insertAccessRows(ctx, tx, op, row)
}

// updateCase writes only what changed: SQLite rewrites an index entry for
// every column an UPDATE sets, changed or not, and a commit's cost (the
// pages written to the WAL and synced) grows with the entries rewritten. A
// lifecycle step typically changes version, state and updated_at, leaving
// most of the nine case indexes, the parties and most of the access index
// untouched.
func updateCase(ctx context.Context, tx *wtx, op string, row *storage.Case, body string, args, old []any) error {
	var set []string
	var vals []any
	changed := map[string]any{} // column -> new value
	for i, col := range caseColumns {
		if args[i] != old[i] {
			set = append(set, col+" = ?")
			vals = append(vals, args[i])
			changed[col] = args[i]
		}
	}
	vals = append(vals, row.ID)
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET `+strings.Join(set, ", ")+` WHERE id = ?`, vals...); err != nil {
		return dbErr(op, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE case_bodies SET body = ? WHERE id = ?`, body, row.ID); err != nil {
		return dbErr(op, err)
	}
	same, err := sameParties(ctx, tx, row)
	if err != nil {
		return dbErr(op, err)
	}
	_, coMoved := changed["registrant_company"]
	_, userMoved := changed["registrant_user"]
	if !same || coMoved || userMoved {
		// Who may see the case changed: rewrite parties and access rows.
		if !same {
			if _, err := tx.ExecContext(ctx, `DELETE FROM case_parties WHERE case_id = ?`, row.ID); err != nil {
				return dbErr(op, err)
			}
			if err := insertParties(ctx, tx, op, row); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM case_access WHERE case_id = ?`, row.ID); err != nil {
			return dbErr(op, err)
		}
		return insertAccessRows(ctx, tx, op, row)
	}
	// The same people: update the copied sort columns that changed (they
	// have the same names and values as in cases).
	set, vals = set[:0], vals[:0]
	for _, col := range accessColumns {
		if v, ok := changed[col]; ok {
			set = append(set, col+" = ?")
			vals = append(vals, v)
		}
	}
	if len(set) == 0 {
		return nil
	}
	vals = append(vals, row.ID)
	_, err = tx.ExecContext(ctx, `UPDATE case_access SET `+strings.Join(set, ", ")+` WHERE case_id = ?`, vals...)
	return dbErr(op, err)
}

// accessColumns are the case columns copied into case_access.
var accessColumns = [...]string{"updated_at", "completed_at", "amount", "transaction_date"}

// sameParties reports whether the stored parties of row are row.Parties
// (company, its name and user, in order).
func sameParties(ctx context.Context, tx *wtx, row *storage.Case) (bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT company_id, company_name, user_id FROM case_parties WHERE case_id = ? ORDER BY idx`, row.ID)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	i := 0
	same := true
	for rows.Next() {
		var co, name, user string
		if err := rows.Scan(&co, &name, &user); err != nil {
			return false, err
		}
		if i >= len(row.Parties) || row.Parties[i].CompanyID != co || row.Parties[i].CompanyName != name || row.Parties[i].UserID != user {
			same = false
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	return same && i == len(row.Parties), nil
}

func insertParties(ctx context.Context, tx *wtx, op string, row *storage.Case) error {
	for i, p := range row.Parties {
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_parties (case_id, idx, company_id, company_name, user_id) VALUES (?,?,?,?,?)`,
			row.ID, i, p.CompanyID, p.CompanyName, p.UserID); err != nil {
			return dbErr(op, err)
		}
	}
	return nil
}

func insertAccessRows(ctx context.Context, tx *wtx, op string, row *storage.Case) error {
	for _, a := range accessRows(row) {
		if _, err := tx.ExecContext(ctx, insertAccess, a...); err != nil {
			return dbErr(op, err)
		}
	}
	return nil
}

// GetCase implements storage.CaseStore.
func (s *Store) GetCase(ctx context.Context, id string) (*storage.Case, error) {
	const op = "sqlite.GetCase"
	var version int64
	var body string
	err := s.readRow(ctx, `SELECT c.version, b.body FROM cases c JOIN case_bodies b ON b.id = c.id WHERE c.id = ?`, id).Scan(&version, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.E(kerr.NotFound, op, "case %q does not exist", id)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	var c storage.Case
	if err := decode(op, body, &c); err != nil {
		return nil, err
	}
	c.Version = version
	return &c, nil
}

const insertAccess = `INSERT OR IGNORE INTO case_access (company_id, user_id, case_id, updated_at, completed_at, amount, transaction_date) VALUES (?,?,?,?,?,?,?)`

// accessRows returns the case_access rows of c, one per Scope that
// includes it, with the sort columns copied in.
func accessRows(c *storage.Case) [][]any {
	var out [][]any
	for _, sc := range c.Scopes() {
		out = append(out, []any{sc.CompanyID, sc.UserID, c.ID, nanos(c.UpdatedAt), nanos(c.CompletedAt), c.Amount, storage.DateSeconds(c.TransactionDate)})
	}
	return out
}

var sortColumns = map[storage.SortKey]string{
	storage.SortUpdated:         "updated_at",
	storage.SortCreated:         "created_at",
	storage.SortTransactionDate: "transaction_date",
	storage.SortAmount:          "amount",
	storage.SortCompleted:       "completed_at",
	storage.SortName:            "name",
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// SearchCases implements storage.CaseStore.
func (s *Store) SearchCases(ctx context.Context, in *storage.CaseQuery) (*storage.CasePage, error) {
	const op = "sqlite.SearchCases"
	q := *in
	if err := q.Validate(); err != nil {
		return nil, kerr.Wrap(op, err)
	}
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	// With a scope, the case_access rows of the company (or user) drive
	// the query; for the sort keys they carry, they also deliver the
	// order, so a page is read from one index range.
	scoped := q.Scope.CompanyID != ""
	// Only the hidden cases of a user: their marks (one key range of
	// case_hidden) drive the query instead, and the scope is probed per
	// mark (personal.go).
	onlyHidden := q.HiddenFor != "" && q.Hidden == storage.HiddenOnly
	// A disclosure's cases likewise drive it (disclosure.go).
	onlyHidden = onlyHidden || q.DisclosureID != ""
	fromAccess := scoped && !onlyHidden && q.Sort != storage.SortCreated && q.Sort != storage.SortName
	switch {
	case scoped && onlyHidden:
		add(`EXISTS (SELECT 1 FROM case_access a WHERE a.company_id = ? AND a.user_id = ? AND a.case_id = c.id)`, q.Scope.CompanyID, q.Scope.UserID)
	case scoped && !fromAccess:
		add(`c.id IN (SELECT case_id FROM case_access WHERE company_id = ? AND user_id = ?)`, q.Scope.CompanyID, q.Scope.UserID)
	}
	for col, list := range map[string][]string{"c.state": q.States, "c.form": q.Forms, "c.category": q.Categories} {
		if len(list) > 0 {
			a := make([]any, len(list))
			for i, v := range list {
				a[i] = v
			}
			add(col+` IN (`+placeholders(len(list))+`)`, a...)
		}
	}
	if q.NameContains != "" {
		add(`instr(c.name, ?) > 0`, q.NameContains)
	}
	if q.OrderNumber != "" {
		add(`instr(c.order_number, ?) > 0`, q.OrderNumber)
	}
	if q.Counterparty != "" {
		// Correlated on the parties' primary key: cheap per candidate row
		// once the scope has narrowed the candidates.
		add(`EXISTS (SELECT 1 FROM case_parties p WHERE p.case_id = c.id AND (p.company_id = ? OR instr(p.company_name, ?) > 0))`, q.Counterparty, q.Counterparty)
	}
	if q.OriginalID != "" {
		add(`c.original_id = ?`, q.OriginalID)
	}
	if q.AmountMin != nil {
		add(`c.amount >= ?`, *q.AmountMin)
	}
	if q.AmountMax != nil {
		add(`c.amount <= ?`, *q.AmountMax)
	}
	if !q.TransactionFrom.IsZero() {
		add(`c.transaction_date >= ?`, storage.DateSeconds(q.TransactionFrom))
	}
	if !q.TransactionTo.IsZero() {
		add(`c.transaction_date <= ?`, storage.DateSeconds(q.TransactionTo))
	}
	if !q.CompletedFrom.IsZero() || !q.CompletedTo.IsZero() {
		add(`c.completed_at <> 0`)
	}
	if !q.CompletedFrom.IsZero() {
		add(`c.completed_at >= ?`, q.CompletedFrom.UnixNano())
	}
	if !q.CompletedTo.IsZero() {
		add(`c.completed_at <= ?`, q.CompletedTo.UnixNano())
	}
	col, idCol := "c."+sortColumns[q.Sort], "c.id"
	from := `cases c`
	if fromAccess {
		// CROSS JOIN makes SQLite scan case_access first, in index order.
		col, idCol = "a."+sortColumns[q.Sort], "a.case_id"
		from = `case_access a CROSS JOIN cases c ON c.id = a.case_id`
		pre, preArgs := `a.company_id = ? AND a.user_id = ?`, []any{q.Scope.CompanyID, q.Scope.UserID}
		// The range bounds again on the copied columns, so they narrow the
		// index range instead of filtering rows after the join.
		bound := func(cond string, v any) {
			pre += ` AND ` + cond
			preArgs = append(preArgs, v)
		}
		if !q.CompletedFrom.IsZero() {
			bound(`a.completed_at >= ?`, q.CompletedFrom.UnixNano())
		}
		if !q.CompletedTo.IsZero() {
			bound(`a.completed_at <= ?`, q.CompletedTo.UnixNano())
		}
		if q.AmountMin != nil {
			bound(`a.amount >= ?`, *q.AmountMin)
		}
		if q.AmountMax != nil {
			bound(`a.amount <= ?`, *q.AmountMax)
		}
		if !q.TransactionFrom.IsZero() {
			bound(`a.transaction_date >= ?`, storage.DateSeconds(q.TransactionFrom))
		}
		if !q.TransactionTo.IsZero() {
			bound(`a.transaction_date <= ?`, storage.DateSeconds(q.TransactionTo))
		}
		where = append([]string{pre}, where...)
		args = append(preArgs, args...)
	}
	from, where, args = hiddenFilter(&q, from, idCol, where, args)
	from, where, args = disclosureFilter(&q, from, where, args)
	cmp, dir := ">", "ASC"
	if q.Desc {
		cmp, dir = "<", "DESC"
	}
	if q.Cursor != "" {
		cur, err := storage.DecodeCursor(q.Cursor, &q)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		var v any = cur.Int
		if q.Sort == storage.SortName {
			v = cur.Text
		}
		add(`(`+col+` `+cmp+` ? OR (`+col+` = ? AND `+idCol+` `+cmp+` ?))`, v, v, cur.ID)
	}
	// Two phases: sort and limit the narrow (id, key) rows first, then
	// fetch the JSON bodies of the page only.
	inner := `SELECT ` + idCol + ` FROM ` + from
	if len(where) > 0 {
		inner += ` WHERE ` + strings.Join(where, ` AND `)
	}
	inner += ` ORDER BY ` + col + ` ` + dir + `, ` + idCol + ` ` + dir + ` LIMIT ?`
	args = append(args, q.Limit+1)
	outerCol := "c." + sortColumns[q.Sort]
	sqlText := `SELECT c.version, b.body FROM cases c JOIN case_bodies b ON b.id = c.id WHERE c.id IN (` + inner + `)` +
		` ORDER BY ` + outerCol + ` ` + dir + `, c.id ` + dir
	rows, err := s.r.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	page := &storage.CasePage{}
	for rows.Next() {
		var version int64
		var body string
		if err := rows.Scan(&version, &body); err != nil {
			return nil, dbErr(op, err)
		}
		var c storage.Case
		if err := decode(op, body, &c); err != nil {
			return nil, err
		}
		c.Version = version
		page.Cases = append(page.Cases, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	if len(page.Cases) > q.Limit {
		page.Cases = page.Cases[:q.Limit]
		cur := storage.CursorAfter(page.Cases[q.Limit-1], q.Sort)
		cur.Desc = q.Desc
		page.Next = storage.EncodeCursor(cur)
	}
	return page, nil
}

func insertEvent(ctx context.Context, tx *wtx, op string, ev storage.Event) error {
	body, err := encode(op, &ev)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, type, case_id, created_at, next_attempt_at, delivered_at, attempts, body) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`,
		ev.ID, ev.Type, ev.CaseID, nanos(ev.CreatedAt), nanos(ev.NextAttemptAt), nanos(ev.DeliveredAt), ev.Attempts, body)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return kerr.E(kerr.Conflict, op, "outbox event %q exists already", ev.ID)
	}
	return nil
}

// DueEvents implements storage.OutboxStore.
func (s *Store) DueEvents(ctx context.Context, now time.Time, limit int) ([]storage.Event, error) {
	const op = "sqlite.DueEvents"
	if limit < 1 || limit > 1000 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d out of range 1..1000", limit)
	}
	rows, err := s.r.QueryContext(ctx, dueQuery, nanos(now), limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanEvents(op, rows)
}

// Given-up events have delivered_at = -1, so one index serves both.
const dueQuery = `SELECT body FROM outbox WHERE delivered_at = 0 AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at, id LIMIT ?`

func scanEvents(op string, rows *sql.Rows) ([]storage.Event, error) {
	defer rows.Close()
	var out []storage.Event
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, dbErr(op, err)
		}
		var ev storage.Event
		if err := decode(op, body, &ev); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, dbErr(op, rows.Err())
}

// ClaimEvents implements storage.OutboxStore.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]storage.Event, error) {
	const op = "sqlite.ClaimEvents"
	if limit < 1 || limit > 1000 || lease <= 0 {
		return nil, kerr.E(kerr.Invalid, op, "limit %d must be 1..1000 and lease %s positive", limit, lease)
	}
	var out []storage.Event
	err := s.write(ctx, op, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, dueQuery, nanos(now), limit)
		if err != nil {
			return dbErr(op, err)
		}
		if out, err = scanEvents(op, rows); err != nil {
			return err
		}
		for _, ev := range out {
			// The body keeps the pre-claim NextAttemptAt; only the column,
			// which DueEvents filters on, moves.
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = ? WHERE id = ?`, nanos(now.Add(lease)), ev.ID); err != nil {
				return dbErr(op, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) updateEvent(ctx context.Context, op, id string, fn func(ev *storage.Event)) error {
	return s.write(ctx, op, func(tx *wtx) error {
		var body string
		err := tx.QueryRowContext(ctx, `SELECT body FROM outbox WHERE id = ?`, id).Scan(&body)
		if errors.Is(err, sql.ErrNoRows) {
			return kerr.E(kerr.NotFound, op, "outbox event %q does not exist", id)
		}
		if err != nil {
			return dbErr(op, err)
		}
		var ev storage.Event
		if err := decode(op, body, &ev); err != nil {
			return err
		}
		fn(&ev)
		nb, err := encode(op, &ev)
		if err != nil {
			return err
		}
		delivered := nanos(ev.DeliveredAt)
		if ev.GaveUp && delivered == 0 {
			delivered = -1
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET next_attempt_at=?, delivered_at=?, attempts=?, body=? WHERE id=?`,
			nanos(ev.NextAttemptAt), delivered, ev.Attempts, nb, id)
		return dbErr(op, err)
	})
}

// MarkDelivered implements storage.OutboxStore.
func (s *Store) MarkDelivered(ctx context.Context, id string, t time.Time) error {
	if t.IsZero() {
		return kerr.E(kerr.Invalid, "sqlite.MarkDelivered", "delivery time is required")
	}
	return s.updateEvent(ctx, "sqlite.MarkDelivered", id, func(ev *storage.Event) {
		if ev.DeliveredAt.IsZero() {
			ev.DeliveredAt = t
		}
	})
}

// MarkFailed implements storage.OutboxStore.
func (s *Store) MarkFailed(ctx context.Context, id string, attempts int, next time.Time, errMsg string) error {
	return s.updateEvent(ctx, "sqlite.MarkFailed", id, func(ev *storage.Event) {
		ev.Attempts = attempts
		ev.NextAttemptAt = next
		ev.GaveUp = next.IsZero()
		ev.LastError = errMsg
	})
}

var _ storage.BulkLoader = (*Store)(nil)

// ImportCases implements storage.BulkLoader.
func (s *Store) ImportCases(ctx context.Context, cases []*storage.Case, audit []storage.AuditEntry) error {
	const op = "sqlite.ImportCases"
	if len(cases) == 0 || len(cases) > storage.MaxImportBatch {
		return kerr.E(kerr.Invalid, op, "import 1 to %d cases per call, not %d", storage.MaxImportBatch, len(cases))
	}
	bodies := make([]string, len(cases))
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
		bodies[i] = b
	}
	var sealed []storage.AuditEntry
	err := s.write(ctx, op, func(tx *wtx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO cases (version, form, state, category, original_id, name, order_number,
			amount, currency, transaction_date, registrant_company, registrant_user,
			created_at, updated_at, completed_at, id) VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return dbErr(op, err)
		}
		defer ins.Close()
		access, err := tx.PrepareContext(ctx, insertAccess)
		if err != nil {
			return dbErr(op, err)
		}
		defer access.Close()
		bodyIns, err := tx.PrepareContext(ctx, `INSERT INTO case_bodies (id, body) VALUES (?, ?)`)
		if err != nil {
			return dbErr(op, err)
		}
		defer bodyIns.Close()
		party, err := tx.PrepareContext(ctx, `INSERT INTO case_parties (case_id, idx, company_id, company_name, user_id) VALUES (?,?,?,?,?)`)
		if err != nil {
			return dbErr(op, err)
		}
		defer party.Close()
		exists, err := tx.PrepareContext(ctx, `SELECT count(*) FROM cases WHERE id = ?`)
		if err != nil {
			return dbErr(op, err)
		}
		defer exists.Close()
		for i, c := range cases {
			var n int
			if err := exists.QueryRowContext(ctx, c.ID).Scan(&n); err != nil {
				return dbErr(op, err)
			}
			if n > 0 {
				return kerr.E(kerr.Conflict, op, "case %q exists already", c.ID)
			}
			if _, err := ins.ExecContext(ctx, c.Form, c.State, c.Category, c.OriginalID, c.Name, c.OrderNumber,
				c.Amount, c.Currency, storage.DateSeconds(c.TransactionDate), c.RegistrantCompanyID, c.RegistrantUserID,
				nanos(c.CreatedAt), nanos(c.UpdatedAt), nanos(c.CompletedAt), c.ID); err != nil {
				return dbErr(op, err)
			}
			if _, err := bodyIns.ExecContext(ctx, c.ID, bodies[i]); err != nil {
				return dbErr(op, err)
			}
			for j, p := range c.Parties {
				if _, err := party.ExecContext(ctx, c.ID, j, p.CompanyID, p.CompanyName, p.UserID); err != nil {
					return dbErr(op, err)
				}
			}
			for _, a := range accessRows(c) {
				if _, err := access.ExecContext(ctx, a...); err != nil {
					return dbErr(op, err)
				}
			}
			if err := insertBlobRefs(ctx, tx, op, c); err != nil { // retention.go
				return err
			}
		}
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
	// Refresh the planner's statistics after a bulk change; analysis_limit
	// keeps this to a sample, so it costs milliseconds at any size.
	if _, err := s.w.ExecContext(ctx, `PRAGMA analysis_limit = 1000; ANALYZE`); err != nil {
		return dbErr(op, err)
	}
	return nil
}
