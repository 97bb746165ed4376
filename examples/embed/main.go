// Command embed runs the whole contract lifecycle in one process on the
// embedded default of keiyaku (SQLite and files in a temporary directory,
// the development TSA), printing each step:
//
//	go run ./examples/embed
//
// Three companies sign with certificates from a CA made in memory. A 1:1
// contract is registered, received, sent back with a reason, corrected and
// sent again; a return whose contract text was altered is refused; the
// signed return is accepted, the case completed (sealed to PAdES B-LTA)
// and its original checked. Then a three-party contract passes through
// both counterparties in turn. The completed cases are searched (by the
// 電子帳簿保存法's items) and exported as CSV for Excel, and the first
// case's audit trail is printed. No SMTP server is configured, so the
// notices stay in the outbox; the program lists them at the end.
package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/civil"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/storage"
)

func main() {
	dir, err := os.MkdirTemp("", "keiyaku-embed-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
	err = run(context.Background(), os.Stdout, dir)
	os.RemoveAll(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// run opens the service in dir, makes the companies and runs both
// lifecycles, writing what happens to out.
func run(ctx context.Context, out io.Writer, dir string) (err error) {
	defer recoverStep(&err)
	now := time.Now()
	ca, err := newDemoCA(now)
	check(err)
	crl, err := ca.crl(now)
	check(err)
	svc, err := keiyaku.Open(ctx, keiyaku.Config{
		Dir:          dir,
		TrustAnchors: []*x509.Certificate{ca.root}, // whose signatures count
		CRLs:         [][]byte{crl},                // revocation data for sealing to B-LTA
	})
	check(err)
	defer svc.Close()
	d := &demo{ctx: ctx, out: out, svc: svc, ca: ca}
	a := d.company("株式会社エー商事", "admin-a", "山田 太郎", "ja")
	b := d.company("Bee Trading Ltd.", "admin-b", "Betty Brown", "en")
	c := d.company("シー工業株式会社", "admin-c", "佐藤 花子", "ja")

	first := d.bilateral(a, b)
	d.multiParty(a, b, c)
	d.searchAndExport(a)
	d.auditTrail(a, first)
	d.disclose(a, first)  // disclosure.go
	d.retention(a, first) // disclosure.go
	d.transfer(a, first)  // transfer.go

	due, err := svc.Store.DueEvents(ctx, time.Now(), storage.MaxPageSize)
	check(err)
	d.say("\n%d notices wait in the outbox (no SMTP configured; set Config.SMTP to mail them):", len(due))
	for _, ev := range due {
		d.say("  %-17s to %s (%s)", ev.Type, ev.RecipientName, ev.Language)
	}
	return nil
}

// bilateral is a 1:1 contract from registration to original check; it
// returns the case's ID.
func (d *demo) bilateral(a, b *person) string {
	d.say("== 1:1 contract: %s and %s", a.company, b.company)
	doc := d.sign(a, onePagePDF("Service agreement: 1,000,000 JPY per month"))
	c, err := d.svc.Cases.Register(d.ctx, a.p, &casework.NewCase{
		Form: casework.FormBilateral, Name: "業務委託契約 / service agreement", OrderNumber: "PO-2026-001",
		Amount: casework.Money{Amount: 1000000, Currency: "JPY"}, TransactionDate: civil.DateOf(time.Now()),
		Parties:     []casework.Party{b.party()},
		Document:    pdfUpload("agreement.pdf", doc),
		Supplements: []casework.Upload{{Name: "statement-of-work.txt", ContentType: "text/plain", Body: strings.NewReader("Statement of work, version 1\n")}},
	})
	check(err)
	d.say("register+send: %s signed and registered case %s; it is %s to %s", a.name, c.ID[:8], c.State, b.name)

	got := d.receive(b, c.ID)
	c, err = d.svc.Cases.SendBack(d.ctx, b.p, c.ID, "月額が違います: 1,100,000 JPY as agreed")
	check(err)
	d.say("send back: %s sent it back: %q", b.name, c.Reason)

	doc = d.sign(a, onePagePDF("Service agreement: 1,100,000 JPY per month"))
	fixed := pdfUpload("agreement-v2.pdf", doc)
	c, err = d.svc.Cases.Resend(d.ctx, a.p, c.ID, &fixed)
	check(err)
	d.say("resend: %s corrected the contract and sent it again; it is %s", a.name, c.State)
	got = d.receive(b, c.ID)

	altered, err := rewriteText(got, "Service agreement: 100 JPY per month")
	check(err)
	_, err = d.svc.Cases.Return(d.ctx, b.p, c.ID, pdfUpload("agreement.pdf", d.sign(b, altered)))
	if !errors.Is(err, kerr.Invalid) {
		check(fmt.Errorf("a return with altered contract text was not refused: %v", err))
	}
	d.say("tampered return refused: %v", err)

	c, err = d.svc.Cases.Return(d.ctx, b.p, c.ID, pdfUpload("agreement.pdf", d.sign(b, got)))
	check(err)
	d.say("return: %s countersigned and returned it; it is %s", b.name, c.State)

	c, err = d.svc.Cases.Complete(d.ctx, a.p, c.ID)
	check(err)
	d.say("complete: %s completed the case; %d files sealed", a.name, len(c.Sealed))
	d.originalCheck(b, c.ID)
	return c.ID
}

// searchAndExport finds who's completed cases of this month by the
// search items of the 電子帳簿保存法 (transaction date range, amount,
// counterparty) and exports them as CSV for Excel.
func (d *demo) searchAndExport(who *person) {
	d.say("\n== search and CSV export as %s", who.name)
	today := civil.DateOf(time.Now())
	q := &casework.Query{
		States:          []casework.State{casework.StateCompleted},
		TransactionFrom: civil.Date{Year: today.Year, Month: today.Month, Day: 1}, TransactionTo: today,
		Counterparty: "Bee", Sort: storage.SortAmount, Desc: true,
	}
	page, err := d.svc.Cases.Search(d.ctx, who.p, q)
	check(err)
	for _, c := range page.Cases {
		d.say("search: %s %s, %d %s, dated %s, %s", c.ID[:8], c.Name, c.Amount.Amount, c.Amount.Currency, c.TransactionDate, c.State)
	}
	// UTF-8 with a byte order mark and CRLF: Excel in Japanese opens it
	// as is. ExportCSVWith writes Shift_JIS for older tools.
	var csv bytes.Buffer
	n, err := d.svc.Cases.ExportCSV(d.ctx, who.p, &casework.Query{States: []casework.State{casework.StateCompleted}}, &csv)
	check(err)
	lines := strings.Split(strings.TrimPrefix(csv.String(), "\uFEFF"), "\r\n")
	d.say("export: %d rows, %d bytes, UTF-8 with BOM=%v; header: %s", n, csv.Len(), strings.HasPrefix(csv.String(), "\uFEFF"), lines[0])
}

// auditTrail prints the hash-chained audit entries of case id and checks
// the whole chain.
func (d *demo) auditTrail(who *person, id string) {
	d.say("\n== audit trail of case %s", id[:8])
	entries, err := d.svc.Cases.AuditTrail(d.ctx, who.p, id)
	check(err)
	loc, err := d.svc.Cases.TimeZone(d.ctx, who.p) // the company's zone: Asia/Tokyo unless set
	check(err)
	for _, e := range entries {
		d.say("audit: #%d %s %s %-16s by %s", e.Seq, e.Time.In(loc).Format(time.DateTime), loc, e.Action, e.ActorUserID[:8])
	}
	n, err := d.svc.Cases.VerifyAudit(d.ctx)
	check(err)
	d.say("audit chain: %d entries, every hash links to the one before", n)
}

// multiParty is a contract among a and, in turn, b and c.
func (d *demo) multiParty(a, b, c *person) {
	d.say("\n== three-party contract: %s, %s, %s", a.company, b.company, c.company)
	doc := d.sign(a, onePagePDF("Joint development agreement among three companies"))
	cs, err := d.svc.Cases.Register(d.ctx, a.p, &casework.NewCase{
		Form: casework.FormMultiParty, Name: "共同開発契約 / joint development", TransactionDate: civil.DateOf(time.Now()),
		Amount:  casework.Money{Amount: 0, Currency: "JPY"},
		Parties: []casework.Party{b.party(), c.party()}, Document: pdfUpload("joint.pdf", doc),
	})
	check(err)
	d.say("register+send: %s registered case %s; it is %s to %s", a.name, cs.ID[:8], cs.State, b.name)
	for _, p := range []*person{b, c} {
		got := d.receive(p, cs.ID)
		cs, err = d.svc.Cases.Return(d.ctx, p.p, cs.ID, pdfUpload("joint.pdf", d.sign(p, got)))
		check(err)
		d.say("return: %s signed; the case is %s", p.name, cs.State)
	}
	cs, err = d.svc.Cases.Complete(d.ctx, a.p, cs.ID)
	check(err)
	d.say("complete: %s completed the case; %d file sealed", a.name, len(cs.Sealed))
	d.originalCheck(c, cs.ID)
}

// ---- helpers ----

type demo struct {
	ctx context.Context
	out io.Writer
	svc *keiyaku.Service
	ca  *demoCA
}

// person is a company's administrator with a signing certificate.
type person struct {
	company, name string
	id            *identity
	p             account.Principal
}

func (p *person) party() casework.Party {
	return casework.Party{CompanyID: p.p.CompanyID, CompanyName: p.company, UserID: p.p.UserID}
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

// company creates a company with its administrator, who logs in, replaces
// the initial password and gets the Principal casework acts as.
func (d *demo) company(name, login, fullName, lang string) *person {
	local := strings.ToLower(strings.ReplaceAll(login, "admin-", ""))
	_, _, initial, err := d.svc.Accounts.CreateCompany(d.ctx, name, account.NewUser{
		LoginID: login, Profile: storage.Profile{Name: fullName, Email: local + "@" + local + ".example", Language: lang},
	}, "")
	check(err)
	sess, err := d.svc.Accounts.Login(d.ctx, login, initial, "")
	check(err)
	password := "a long passphrase for " + login
	check(d.svc.Accounts.ChangePassword(d.ctx, sess.Token, initial, password, ""))
	sess, err = d.svc.Accounts.Login(d.ctx, login, password, "")
	check(err)
	p, err := d.svc.Accounts.Authenticate(d.ctx, sess.Token, "")
	check(err)
	id, err := d.ca.issue(time.Now(), name, fullName)
	check(err)
	// Signatures count as the company's only from certificates it has
	// registered: here, every one the CA issues to its organization name.
	_, err = d.svc.Accounts.RegisterSignerIssuer(d.ctx, p, d.ca.root, name, "")
	check(err)
	d.say("company: %s (%s, notices in %s)", name, fullName, lang)
	return &person{company: name, name: fullName, id: id, p: p}
}

// sign adds who's PAdES signature to pdf in an incremental update.
func (d *demo) sign(who *person, pdf []byte) []byte {
	var out bytes.Buffer
	check(signature.Sign(d.ctx, bytes.NewReader(pdf), int64(len(pdf)), &out, &signature.SignOptions{
		Signer: who.id.key, Certificate: who.id.cert, Chain: []*x509.Certificate{d.ca.root},
		Name: who.name, Reason: "契約締結 / contract",
	}))
	return out.Bytes()
}

// receive downloads the case's contract as who (受領).
func (d *demo) receive(who *person, id string) []byte {
	r, c, err := d.svc.Cases.Receive(d.ctx, who.p, id)
	check(err)
	defer r.Close()
	b, err := io.ReadAll(r)
	check(err)
	d.say("receive: %s downloaded the contract (%d bytes); it is %s", who.name, len(b), c.State)
	return b
}

// originalCheck runs original verification (原本検証) as who.
func (d *demo) originalCheck(who *person, id string) {
	oc, err := d.svc.VerifyOriginal(d.ctx, who.p, id)
	check(err)
	for _, p := range oc.PDFs {
		rep := p.Verdict.Report
		ind := signature.TotalPassed
		for _, s := range rep.Signatures {
			if s.Indication != signature.TotalPassed {
				ind = s.Indication
			}
		}
		d.say("original check: %s: %s at %s, %d revisions, sealed %s by %q, original=%v",
			p.File.Name, ind, rep.Level, rep.Revisions, p.Verdict.Sealed.Format(time.RFC3339), p.Verdict.TSA, p.Verdict.Original)
	}
	for _, f := range oc.Files {
		d.say("original check: %s: original=%v (RFC 3161 token %s)", f.File.Name, f.Verdict.Original, f.Token.Name)
	}
	if !oc.Original {
		check(fmt.Errorf("case %s is not original", id))
	}
}

func pdfUpload(name string, b []byte) casework.Upload {
	return casework.Upload{Name: name, ContentType: "application/pdf", Body: bytes.NewReader(b)}
}

// stepError carries an error from check to recoverStep, so the lifecycle
// reads as a script; it never leaves run.
type stepError struct{ err error }

func check(err error) {
	if err != nil {
		panic(stepError{err})
	}
}

func recoverStep(err *error) {
	if r := recover(); r != nil {
		se, ok := r.(stepError)
		if !ok {
			panic(r)
		}
		*err = se.err
	}
}
