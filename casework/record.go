package casework

import (
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

func utfOK(s string) bool { return utf8.ValidString(s) }

func scopeOf(p account.Principal) storage.Scope {
	if p.Admin {
		return storage.Scope{CompanyID: p.CompanyID}
	}
	return storage.Scope{CompanyID: p.CompanyID, UserID: p.UserID}
}

func toFile(f File) storage.File {
	return storage.File{Name: f.Name, ContentType: f.ContentType, Key: f.Key, Size: f.Size}
}

func fromFile(f storage.File) File {
	return File{Name: f.Name, ContentType: f.ContentType, Key: f.Key, Size: f.Size}
}

func toFiles(fs []File) []storage.File {
	var out []storage.File
	for _, f := range fs {
		out = append(out, toFile(f))
	}
	return out
}

func fromFiles(fs []storage.File) []File {
	var out []File
	for _, f := range fs {
		out = append(out, fromFile(f))
	}
	return out
}

func toRecord(c *Case) *storage.Case {
	r := &storage.Case{
		ID: c.ID, Version: c.Version, Form: c.Form.String(), State: c.State.String(), Category: c.Category.String(),
		OriginalID: c.OriginalID, Name: c.Name, OrderNumber: c.OrderNumber,
		Amount: c.Amount.Amount, Currency: c.Amount.Currency, TransactionDate: c.TransactionDate,
		RegistrantCompanyID: c.RegistrantCompanyID, RegistrantUserID: c.RegistrantUserID, Turn: c.Turn,
		Document: toFile(c.Document), Acceptance: toFile(c.Acceptance),
		Supplements: toFiles(c.Supplements), Sealed: toFiles(c.Sealed),
		Reason: c.Reason, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CompletedAt: c.CompletedAt,
		ReplyBy: c.ReplyBy,
	}
	for _, sg := range c.Signers {
		r.Signers = append(r.Signers, storage.Signer(sg))
	}
	for _, p := range c.Parties {
		r.Parties = append(r.Parties, storage.Party{CompanyID: p.CompanyID, CompanyName: p.CompanyName, UserID: p.UserID, DoneAt: p.DoneAt})
	}
	return r
}

// fromRecord maps a stored case back, refusing one whose names casework
// does not know (kerr.Internal: the store holds something casework never
// wrote).
func fromRecord(r *storage.Case) (*Case, error) {
	const op = "casework.fromRecord"
	form, err1 := ParseForm(r.Form)
	state, err2 := ParseState(r.State)
	cat, err3 := ParseCategory(r.Category)
	if err1 != nil || err2 != nil || err3 != nil || len(r.Parties) == 0 || r.Turn < 0 || r.Turn >= len(r.Parties) {
		return nil, kerr.E(kerr.Internal, op, "stored case %q is malformed (form %q, state %q, category %q, %d parties, turn %d)",
			r.ID, r.Form, r.State, r.Category, len(r.Parties), r.Turn)
	}
	c := &Case{
		ID: r.ID, Version: r.Version, Form: form, State: state, Category: cat, OriginalID: r.OriginalID,
		Name: r.Name, OrderNumber: r.OrderNumber, Amount: Money{Amount: r.Amount, Currency: r.Currency},
		TransactionDate: r.TransactionDate, RegistrantCompanyID: r.RegistrantCompanyID, RegistrantUserID: r.RegistrantUserID,
		Turn: r.Turn, Document: fromFile(r.Document), Acceptance: fromFile(r.Acceptance),
		Supplements: fromFiles(r.Supplements), Sealed: fromFiles(r.Sealed),
		Reason: r.Reason, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, CompletedAt: r.CompletedAt,
		ReplyBy: r.ReplyBy,
	}
	for _, sg := range r.Signers {
		c.Signers = append(c.Signers, SignerRecord(sg))
	}
	for _, p := range r.Parties {
		c.Parties = append(c.Parties, Party{CompanyID: p.CompanyID, CompanyName: p.CompanyName, UserID: p.UserID, DoneAt: p.DoneAt})
	}
	return c, nil
}
