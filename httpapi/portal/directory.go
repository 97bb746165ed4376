package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

// Limits of the register page's counterparty lists.
const (
	// MaxOfferedPartners is how many of the company's trading partners
	// the register page offers before any search (the first added
	// first); the others are found by searching.
	MaxOfferedPartners = 50
	// MaxDirectoryQueryLen bounds the directory search text, in
	// characters.
	MaxDirectoryQueryLen = 100
)

// offer is a company the register page offers, with the people in it a
// case may go to.
type offer struct {
	account.DirectoryEntry
	Found   bool // a result of the search typed on the page
	Options []memberOption
}

type memberOption struct {
	Value string // partyValue
	Label string
}

// offers lists the companies a registrant may choose counterparties from:
// the results of the directory search typed on the page first, then the
// company's trading partners (up to MaxOfferedPartners), then any
// company already chosen in a slot; never the registrant's own company.
// Each comes with its people (account.Members).
func (h *Handler) offers(ctx context.Context, p account.Principal, rf *registerForm) ([]offer, error) {
	var out []offer
	seen := map[string]bool{p.CompanyID: true}
	add := func(e account.DirectoryEntry, found bool) error {
		if seen[e.ID] {
			return nil
		}
		seen[e.ID] = true
		members, err := h.svc.Accounts.Members(ctx, p, e.ID)
		if err != nil {
			return err
		}
		o := offer{DirectoryEntry: e, Found: found}
		for _, m := range members {
			label := m.Name
			if m.Department != "" {
				label += "（" + m.Department + "）"
			}
			o.Options = append(o.Options, memberOption{Value: partyValue(e.ID, m.UserID), Label: label})
		}
		out = append(out, o)
		return nil
	}
	var firstErr error
	if rf.Query != "" {
		found, err := h.searchDirectory(ctx, p, rf.Query)
		firstErr = err
		for _, e := range found {
			if err := add(e, true); err != nil {
				return out, err
			}
		}
	}
	partners, err := h.svc.Accounts.Partners(ctx, p)
	if err != nil {
		return out, err
	}
	for _, e := range partners[:min(len(partners), MaxOfferedPartners)] {
		if err := add(e, false); err != nil {
			return out, err
		}
	}
	for _, v := range rf.Parties {
		pc, ok := parsePartyValue(v)
		if !ok || seen[pc.CompanyID] {
			continue
		}
		found, err := h.svc.Accounts.FindCompanies(ctx, p, account.DirectoryQuery{ID: pc.CompanyID, Limit: 1})
		if err != nil {
			return out, err
		}
		for _, e := range found {
			if err := add(e, false); err != nil {
				return out, err
			}
		}
	}
	return out, firstErr
}

// searchDirectory finds companies by the text typed: a 法人番号 (13
// digits, full-width or with hyphens too) exactly, a company ID exactly,
// and any company whose name contains it, at most
// account.DefaultDirectoryLimit of each. Text over MaxDirectoryQueryLen
// characters is kerr.Invalid.
func (h *Handler) searchDirectory(ctx context.Context, p account.Principal, q string) ([]account.DirectoryEntry, error) {
	const op = "portal.searchDirectory"
	if !utf8.ValidString(q) || utf8.RuneCountInString(q) > MaxDirectoryQueryLen {
		return nil, kerr.E(kerr.Invalid, op, "the search text must be at most %d characters", MaxDirectoryQueryLen)
	}
	queries := []account.DirectoryQuery{{Name: q}}
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '-' || r == '－' || r == ' ':
			return -1
		}
		return r
	}, q)
	if len(digits) == 13 && strings.Trim(digits, "0123456789") == "" {
		queries = append(queries, account.DirectoryQuery{CorporateNumber: digits})
	}
	if !strings.ContainsAny(q, " \u3000/") && len(q) <= 64 {
		queries = append(queries, account.DirectoryQuery{ID: q})
	}
	var out []account.DirectoryEntry
	for _, dq := range queries {
		found, err := h.svc.Accounts.FindCompanies(ctx, p, dq)
		if err != nil {
			return out, err
		}
		for _, e := range found {
			if !slices.ContainsFunc(out, func(o account.DirectoryEntry) bool { return o.ID == e.ID }) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// findParties is the register page's directory search: the form comes
// back with what was typed and the companies found offered in every
// counterparty list. It works without JavaScript (a form round trip);
// the files must be chosen again, as after "check only".
func (h *Handler) findParties(w http.ResponseWriter, r *http.Request, pg *page) {
	if err := parseUpload(w, r); err != nil {
		h.fail(w, r, pg, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	_, rf, _, _ := parseRegisterForm(r.MultipartForm.Value)
	if rf.Form == "" {
		rf.Form = casework.FormBilateral.String()
	}
	pg.Data = nil
	h.registerPage(w, r, pg, rf, nil, nil, http.StatusOK)
}
