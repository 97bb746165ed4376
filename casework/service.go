package casework

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/internal/failpoint"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// Outbox event types, as notify names them.
const (
	NoticeReceiptRequested = "receipt_requested"
	NoticeReturned         = "returned"
	NoticeSentBack         = "sent_back"
	NoticeCompleted        = "completed"
	NoticeDeleted          = "deleted"
	NoticeAcknowledged     = "acknowledged"
)

// DefaultLanguage is the language of notices to a user whose profile names
// none.
const DefaultLanguage = "ja"

// Config configures New.
type Config struct {
	// Store persists cases, audit entries and outbox events. Required.
	Store storage.Store
	// Blobs stores document bytes. Required.
	Blobs *storage.Blobs
	// Validator checks every uploaded PDF. Required.
	Validator Validator
	// Sealer seals a case on completion. Required.
	Sealer Sealer
	// Clock returns the current time. nil means time.Now.
	Clock func() time.Time
	// Logger receives a line per action. nil means no logging.
	Logger *slog.Logger
	// NewID returns a new unique ID for cases and outbox events (at most
	// 128 characters from A-Z a-z 0-9 . - _). nil means 128 random bits
	// in hex.
	NewID func() string
	// TempDir holds an upload larger than storage.MemoryBlob while it is
	// checked, removed before the call returns. Empty means os.TempDir().
	TempDir string
	// AuditKeys are the keys (by ID) VerifyAudit checks a keyed audit
	// chain with (see storage.AuditKey): the current one and every one
	// rotated out. nil means the chain is unkeyed.
	AuditKeys map[string][]byte
	// Webhooks plans the webhook deliveries of each state change, written
	// in its transaction (normally a *webhook.Service); nil means none.
	Webhooks WebhookPlanner
	// Stamper time-stamps the deletion records of the retention sweep
	// (SweepRetention); nil means the sweep refuses to run.
	Stamper DeletionStamper
	// RetentionNotice is how long before its deletion the owner of a case
	// is told; 0 means DefaultRetentionNotice.
	RetentionNotice time.Duration
}

// Service carries cases through their lifecycle. It is safe for concurrent
// use.
type Service struct {
	store  storage.Store
	blobs  *storage.Blobs
	val    Validator
	sealer Sealer
	clock  func() time.Time
	log    *slog.Logger
	newID  func() string
	tmpDir string
	keys   map[string][]byte
	hooks  WebhookPlanner
	// retention.go
	stamper DeletionStamper
	notice  time.Duration
}

// New returns a Service, or an error of kind kerr.Invalid naming a missing
// collaborator.
func New(cfg Config) (*Service, error) {
	const op = "casework.New"
	switch {
	case cfg.Store == nil:
		return nil, kerr.E(kerr.Invalid, op, "Config.Store is required")
	case cfg.Blobs == nil:
		return nil, kerr.E(kerr.Invalid, op, "Config.Blobs is required")
	case cfg.Validator == nil:
		return nil, kerr.E(kerr.Invalid, op, "Config.Validator is required")
	case cfg.Sealer == nil:
		return nil, kerr.E(kerr.Invalid, op, "Config.Sealer is required")
	}
	s := &Service{store: cfg.Store, blobs: cfg.Blobs, val: cfg.Validator, sealer: cfg.Sealer, clock: cfg.Clock, log: cfg.Logger, newID: cfg.NewID, tmpDir: cfg.TempDir, keys: cfg.AuditKeys, hooks: cfg.Webhooks}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.newID == nil {
		s.newID = randomID
	}
	s.stamper, s.notice = cfg.Stamper, cfg.RetentionNotice
	if s.notice < 0 {
		return nil, kerr.E(kerr.Invalid, op, "Config.RetentionNotice may not be negative")
	}
	if s.notice == 0 {
		s.notice = DefaultRetentionNotice
	}
	return s, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

func (s *Service) now() time.Time { return s.clock().UTC() }

// roleOf returns p's role in c, and whether p may see c at all.
func roleOf(p account.Principal, c *Case) (Role, bool) {
	if p.Operator { // transfer.go: an operator sees no contract content
		return RoleNone, false
	}
	if p.CompanyID == c.RegistrantCompanyID && (p.Admin || p.UserID == c.RegistrantUserID) {
		return RoleRegistrant, true
	}
	visible := false
	for i, party := range c.Parties {
		if party.CompanyID == p.CompanyID && (p.Admin || p.UserID == party.UserID) {
			if i == c.Turn {
				return RoleParty, true
			}
			visible = true
		}
	}
	return RoleNone, visible
}

// load reads a case visible to p; a case p may not see is kerr.NotFound.
func (s *Service) load(ctx context.Context, op string, p account.Principal, id string) (*Case, Role, error) {
	if !p.Valid() {
		return nil, RoleNone, kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	if p.Operator { // transfer.go: an operator sees no contract content
		s.refused(ctx, op, p, id, "the service operator sees no case")
		return nil, RoleNone, kerr.E(kerr.NotFound, op, "case %q does not exist", id)
	}
	if p.IsDisclosure() {
		return s.loadDisclosed(ctx, op, p, id) // disclosure.go
	}
	rec, err := s.store.GetCase(ctx, id)
	if err != nil {
		return nil, RoleNone, kerr.Wrap(op, err)
	}
	c, err := fromRecord(rec)
	if err != nil {
		return nil, RoleNone, kerr.Wrap(op, err)
	}
	role, ok := roleOf(p, c)
	if !ok {
		return nil, RoleNone, kerr.E(kerr.NotFound, op, "case %q does not exist", id)
	}
	return c, role, nil
}

func turnOf(c *Case) Turn {
	t := TurnLast
	if c.Form == FormMultiParty && c.Turn < len(c.Parties)-1 {
		t |= TurnMore
	}
	if c.Form == FormMultiParty && c.Turn > 0 {
		t |= TurnAfter
	}
	return t
}

// Get returns the case with id if p may see it, else kerr.NotFound.
func (s *Service) Get(ctx context.Context, p account.Principal, id string) (*Case, error) {
	c, _, err := s.load(ctx, "casework.Get", p, id)
	return c, err
}

// RoleOf returns the role p plays in c right now (RoleNone if p only sees
// it, or does not).
func RoleOf(p account.Principal, c *Case) Role {
	r, _ := roleOf(p, c)
	return r
}

// notices builds one outbox event per recipient, in the recipient's
// language, carrying the names and address the notice shows. A recipient
// or company that cannot be read leaves those fields empty rather than
// failing the action: the delivery worker reports a missing address.
func (s *Service) notices(ctx context.Context, typ string, c *Case, p account.Principal, reason string, recipients ...string) []storage.Event {
	companies := map[string]string{}
	companyName := func(id string) string {
		if name, ok := companies[id]; ok {
			return name
		}
		name := ""
		if co, err := s.store.GetCompany(ctx, id); err == nil {
			name = co.Name
		}
		companies[id] = name
		return name
	}
	from := ""
	if u, err := s.store.GetUser(ctx, p.UserID); err == nil {
		from = u.Profile.Name
	}
	var out []storage.Event
	seen := map[string]bool{}
	for _, uid := range recipients {
		if uid == "" || seen[uid] {
			continue
		}
		seen[uid] = true
		ev := storage.Event{
			ID: s.newID(), Type: typ, CaseID: c.ID, Recipients: []string{uid}, Language: DefaultLanguage,
			ActorUserID: p.UserID, Reason: reason, CreatedAt: c.UpdatedAt,
			CaseName: c.Name, OrderNumber: c.OrderNumber, FromCompany: companyName(p.CompanyID), FromUser: from,
		}
		if u, err := s.store.GetUser(ctx, uid); err == nil {
			if u.Profile.Language != "" {
				ev.Language = u.Profile.Language
			}
			ev.RecipientName, ev.RecipientEmail = u.Profile.Name, u.Profile.Email
			ev.RecipientCompany = companyName(u.CompanyID)
		}
		out = append(out, ev)
	}
	return out
}

func auditEntry(p account.Principal, at time.Time, ev Event, c *Case, detail string) storage.AuditEntry {
	return storage.AuditEntry{
		Time: at, ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
		Action: "case." + ev.String(), CaseID: c.ID, Detail: detail,
	}
}

// commit writes c (read at c.Version) with one audit entry and the events.
func (s *Service) commit(ctx context.Context, op string, p account.Principal, ev Event, from State, c *Case, detail string, events []storage.Event) error {
	d := fmt.Sprintf("%s -> %s", from, c.State)
	if detail != "" {
		d += "; " + detail
	}
	rec := toRecord(c)
	cc := &storage.CaseCommit{Case: rec, Audit: []storage.AuditEntry{auditEntry(p, c.UpdatedAt, ev, c, d)}, Events: events}
	if s.hooks != nil {
		hooks, err := s.hooks.PlanWebhooks(ctx, rec, rec.Version+1, WebhookEvent(ev))
		if err != nil {
			return kerr.Wrap(op, err)
		}
		cc.Webhooks = hooks
	}
	if c.State == StateCompleted && from != StateCompleted {
		// The completion starts the case's retention (retention.go), in
		// the same commit.
		r, err := s.retentionFor(ctx, c)
		if err != nil {
			return kerr.Wrap(op, err)
		}
		cc.Retention = r
	}
	if err := s.store.CommitCase(ctx, cc); err != nil {
		return kerr.Wrap(op, err)
	}
	c.Version = rec.Version
	s.log.InfoContext(ctx, "case "+ev.String(), "case", c.ID, "user", p.UserID, "state", c.State.String())
	return nil
}

// putDocument validates a PDF upload and stores it once it passes. prior,
// when not zero, is the document it must extend. Every signature the
// upload adds must come from a certificate registered to companyID
// (checkSigners), and a signed upload must be sealable (checkSealable).
func (s *Service) putDocument(ctx context.Context, op string, up *Upload, prior File, needSignature bool, companyID string) (File, *Verdict, error) {
	// An upload is checked and validated before it is stored, so a refused
	// one leaves nothing behind. Nearly every contract fits in
	// storage.MemoryBlob and is held in memory; a larger one is spooled
	// to a temporary file.
	head, err := readHead(up.Body, storage.MemoryBlob+1)
	if err != nil {
		return File{}, nil, errUnreadable(op, up.Name, err)
	}
	f := File{Name: up.Name, ContentType: up.ContentType, Size: int64(len(head))}
	var ra io.ReaderAt = bytes.NewReader(head)
	var spool *os.File
	if len(head) > storage.MemoryBlob {
		if spool, err = os.CreateTemp(s.tmpDir, "keiyaku-upload-*.pdf"); err != nil {
			return File{}, nil, kerr.WrapKind(kerr.Unavailable, op, "cannot create a temporary file for "+up.Name, err)
		}
		defer func() {
			spool.Close()
			os.Remove(spool.Name())
		}()
		if _, err := spool.Write(head); err != nil {
			return File{}, nil, kerr.WrapKind(kerr.Unavailable, op, "spooling "+up.Name, err)
		}
		n, err := io.Copy(spool, io.LimitReader(up.Body, MaxDocumentSize+1-int64(len(head))))
		if err != nil {
			return File{}, nil, errUnreadable(op, up.Name, err)
		}
		f.Size += n
		head, ra = nil, spool
	}
	if f.Size > MaxDocumentSize {
		return File{}, nil, errTooLarge(op, up.Name, MaxDocumentSize)
	}
	if f.Size == 0 {
		return File{}, nil, kerr.M(kerr.Invalid, op, "upload.empty", "the upload {file} is empty: choose the file again and upload it", kerr.P("file", up.Name))
	}
	if !prior.IsZero() {
		if err := checkPrefix(op, prior, io.NewSectionReader(ra, 0, f.Size), f.Size); err != nil {
			return File{}, nil, err
		}
	}
	opts := &ValidateOptions{At: s.now()}
	if !prior.IsZero() {
		opts.PriorSize = prior.Size
	}
	v, err := s.val.Validate(ctx, ra, f.Size, opts)
	if err != nil {
		return File{}, nil, kerr.WrapKind(kerr.Unavailable, op, "the document could not be validated; try again", err)
	}
	if err := refuseVerdict(op, up.Name, v, !prior.IsZero(), needSignature); err != nil {
		return File{}, nil, err
	}
	if err := s.checkSigners(ctx, op, up.Name, companyID, v); err != nil {
		return File{}, nil, err
	}
	if v.Signatures > 0 {
		if err := s.checkSealable(ctx, op, up.Name, ra, f.Size); err != nil {
			return File{}, nil, err
		}
	}
	if spool != nil {
		f.Key, _, err = s.blobs.Put(ctx, io.NewSectionReader(spool, 0, f.Size), MaxDocumentSize)
	} else {
		f.Key, _, err = s.blobs.PutBytes(ctx, head)
	}
	if err != nil {
		return File{}, nil, kerr.Wrap(op, err)
	}
	return f, v, nil
}

// readHead reads r up to limit bytes. A reader that knows its length
// (bytes.Reader, strings.Reader, bytes.Buffer) gets one buffer of the
// right size instead of a growing one.
func readHead(r io.Reader, limit int64) ([]byte, error) {
	lr := io.LimitReader(r, limit)
	if l, ok := r.(interface{ Len() int }); ok && l.Len() >= 0 && int64(l.Len()) < limit {
		buf := bytes.NewBuffer(make([]byte, 0, l.Len()+bytes.MinRead))
		_, err := buf.ReadFrom(lr)
		return buf.Bytes(), err
	}
	return io.ReadAll(lr)
}

// checkPrefix reports whether next, of nextSize bytes, begins with
// exactly the bytes of prior. prior's key is the SHA-256 of its bytes, so
// hashing next's first prior.Size bytes answers without reading prior
// back.
func checkPrefix(op string, prior File, next io.Reader, nextSize int64) error {
	if nextSize <= prior.Size {
		return kerr.M(kerr.Invalid, op, "return.notextension", "the returned file is not the PDF that was sent with a signature added: sign the received PDF as it is and return that")
	}
	h := sha256.New()
	if _, err := io.CopyN(h, next, prior.Size); err != nil {
		return kerr.WrapKind(kerr.Unavailable, op, "reading the returned file", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != prior.Key {
		return kerr.M(kerr.Invalid, op, "return.edited", "the returned file changes the contract that was sent: sign the received PDF without editing it and return that")
	}
	return nil
}

// Register creates a case from nc, validates and stores its documents and
// sends it to the first counterparty (EventRegister). It returns the new
// case in StateSent.
//
// Errors: kerr.Unauthenticated without a principal; kerr.Invalid for bad
// case data, a sixth supplementary file, a tenth party, an oversize file or
// a document that fails validation (the message says why); kerr.NotFound
// for an original case p cannot see; kerr.FailedPrecondition for an
// original case that is not completed.
func (s *Service) Register(ctx context.Context, p account.Principal, nc *NewCase) (*Case, error) {
	const op = "casework.Register"
	if !p.Valid() {
		return nil, kerr.E(kerr.Unauthenticated, op, "no principal: log in first")
	}
	if p.Operator { // transfer.go
		s.refused(ctx, op, p, "", "the service operator registers no cases")
		return nil, kerr.E(kerr.PermissionDenied, op, "the service operator registers no cases")
	}
	if err := refuseDisclosure(op, p); err != nil { // disclosure.go
		return nil, err
	}
	if nc == nil {
		return nil, kerr.E(kerr.Invalid, op, "no case given")
	}
	if err := nc.validate(op, p.CompanyID); err != nil {
		return nil, err
	}
	if nc.OriginalID != "" {
		orig, _, err := s.load(ctx, op, p, nc.OriginalID)
		if err != nil {
			return nil, err
		}
		if orig.State != StateCompleted {
			return nil, kerr.E(kerr.FailedPrecondition, op, "case %q is %s; a %s case may only relate to a completed case", orig.ID, orig.State, nc.Category)
		}
	}
	to, err := Next(nc.Form, StateNew, EventRegister, RoleRegistrant, TurnLast)
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	parties := append([]Party(nil), nc.Parties...)
	if err := s.resolveParties(ctx, op, parties); err != nil {
		return nil, err
	}
	// Every supplement is read (and its size checked) before the document
	// or any supplement is stored: a refused call stores nothing. The
	// uploads are read in the order given (the document first), because
	// they may be parts of one stream, such as a multipart request: a
	// later part can only be read once the earlier ones have been.
	spools := make([]*spooled, 0, len(nc.Supplements))
	defer func() {
		for _, sp := range spools {
			sp.close()
		}
	}()
	document := nc.Document
	if len(nc.Supplements) > 0 {
		sp, err := s.spool(op, &nc.Document, MaxDocumentSize)
		if err != nil {
			return nil, err
		}
		document.Body = sp.reader()
		defer sp.close()
	}
	for i := range nc.Supplements {
		sp, err := s.spool(op, &nc.Supplements[i], MaxSupplementSize)
		if err != nil {
			return nil, err
		}
		spools = append(spools, sp)
	}
	doc, verdict, err := s.putDocument(ctx, op, &document, File{}, nc.Form != FormSendOnly, p.CompanyID)
	if err != nil {
		return nil, err
	}
	var sups []File
	for _, sp := range spools {
		key, size, err := s.blobs.Put(ctx, sp.reader(), MaxSupplementSize)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		sups = append(sups, File{Name: sp.up.Name, ContentType: sp.up.ContentType, Key: key, Size: size})
	}
	now := s.now()
	c := &Case{
		ID: s.newID(), Form: nc.Form, State: to, Category: nc.Category, OriginalID: nc.OriginalID,
		Name: nc.Name, OrderNumber: nc.OrderNumber, Amount: nc.Amount,
		TransactionDate:     nc.TransactionDate,
		ReplyBy:             nc.ReplyBy,
		RegistrantCompanyID: p.CompanyID, RegistrantUserID: p.UserID,
		Parties: parties, Document: doc, Supplements: sups,
		CreatedAt: now, UpdatedAt: now,
	}
	for i := range c.Parties {
		c.Parties[i].DoneAt = time.Time{}
	}
	detail := "document " + doc.Key
	if ids := recordSigners(c, p.CompanyID, verdict, now); ids != "" {
		detail += "; " + ids
	}
	events := s.notices(ctx, NoticeReceiptRequested, c, p, "", c.Parties[0].UserID)
	failpoint.Hit(failpoint.RegisterStored)
	if err := s.commit(ctx, op, p, EventRegister, StateNew, c, detail, events); err != nil {
		return nil, err
	}
	failpoint.Hit(failpoint.RegisterCommitted)
	return c, nil
}

// Receive records that the party on turn downloaded the case
// (EventReceive) and returns the contract PDF to read (verified against
// its key as it streams; read to io.EOF) with the updated case. The caller
// closes the reader.
func (s *Service) Receive(ctx context.Context, p account.Principal, id string) (io.ReadCloser, *Case, error) {
	const op = "casework.Receive"
	c, role, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, nil, err
	}
	from := c.State
	to, err := Next(c.Form, from, EventReceive, role, turnOf(c))
	if err != nil {
		return nil, nil, kerr.Wrap(op, err)
	}
	c.State, c.UpdatedAt = to, s.now()
	if err := s.commit(ctx, op, p, EventReceive, from, c, "", nil); err != nil {
		return nil, nil, err
	}
	r, err := s.blobs.Open(ctx, c.Document.Key, c.Document.Size)
	if err != nil {
		return nil, nil, kerr.Wrap(op, err)
	}
	return r, c, nil
}

// Open returns a reader of one file of the case (the document, the
// acceptance, a supplementary or a sealed file), named by its key, for any
// principal that may see the case. It changes no state but appends a
// "case.download" audit entry (no entry, no file). An unknown key is
// kerr.NotFound.
func (s *Service) Open(ctx context.Context, p account.Principal, id, key string) (io.ReadCloser, File, error) {
	const op = "casework.Open"
	c, _, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, File{}, err
	}
	files := append([]File{c.Document, c.Acceptance}, c.Supplements...)
	files = append(files, c.Sealed...)
	for _, f := range files {
		if !f.IsZero() && f.Key == key {
			r, err := s.blobs.Open(ctx, f.Key, f.Size)
			if err != nil {
				return nil, File{}, kerr.Wrap(op, err)
			}
			entry := storage.AuditEntry{Time: s.now(), ActorUserID: p.UserID, ActorCompanyID: p.CompanyID, RemoteAddr: p.RemoteAddr,
				Action: accessAction(p, "case.download"), CaseID: c.ID, Detail: f.Name + " " + f.Key}
			if err := s.store.AppendAudit(ctx, []storage.AuditEntry{entry}); err != nil {
				r.Close()
				return nil, File{}, kerr.Wrap(op, err)
			}
			return r, f, nil
		}
	}
	return nil, File{}, kerr.E(kerr.NotFound, op, "case %q has no file %q", id, key)
}

// Return is the party on turn returning the case (EventReturn). For
// FormOrderAcceptance, up is its own signed acceptance PDF. For the other
// signing forms, up must be the received PDF signed in an incremental
// update: it must begin with exactly the bytes that were sent, every
// signature must pass, and the only change allowed is the new signature
// (plus DSS and timestamps). Otherwise the upload is refused with an error
// of kind kerr.Invalid saying why, and the case is unchanged.
//
// In a multi-party case a return by any but the last party sends the case
// on to the next party; the last return moves it to StateReturned.
func (s *Service) Return(ctx context.Context, p account.Principal, id string, up Upload) (*Case, error) {
	const op = "casework.Return"
	c, role, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	from := c.State
	to, err := Next(c.Form, from, EventReturn, role, turnOf(c))
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if err := checkUpload(op, "returned document", &up); err != nil {
		return nil, err
	}
	prior := c.Document
	if c.Form == FormOrderAcceptance {
		prior = File{}
	}
	f, verdict, err := s.putDocument(ctx, op, &up, prior, true, c.Parties[c.Turn].CompanyID)
	if err != nil {
		return nil, err
	}
	failpoint.Hit(failpoint.ReturnStored)
	now := s.now()
	detail := "document " + f.Key
	if ids := recordSigners(c, c.Parties[c.Turn].CompanyID, verdict, now); ids != "" {
		detail += "; " + ids
	}
	if c.Form == FormOrderAcceptance {
		c.Acceptance = f
	} else {
		c.Document = f
	}
	c.Parties[c.Turn].DoneAt = now
	c.State, c.UpdatedAt, c.Reason = to, now, ""
	var events []storage.Event
	if to == StateSent {
		c.Turn++
		events = s.notices(ctx, NoticeReceiptRequested, c, p, "", c.Parties[c.Turn].UserID)
	} else {
		events = s.notices(ctx, NoticeReturned, c, p, "", c.RegistrantUserID)
	}
	if err := s.commit(ctx, op, p, EventReturn, from, c, detail, events); err != nil {
		return nil, err
	}
	failpoint.Hit(failpoint.ReturnCommitted)
	return c, nil
}

// SendBack sends the case back with a reason (EventSendBack, 差し戻し) to
// the side that sent it (送信元の取引先企業に差し戻せます):
//
//   - the party on turn sends it to the registrant (StateSentBack), or, in
//     a multi-party case, to the party before it (StateSentBackToParty;
//     that party is on turn again, and its return is undone);
//   - the registrant sends a returned case to the counterparty that
//     returned it (StateSentBackToParty), and takes back one not yet
//     returned (StateSentBack, the party on turn is told).
//
// The reason (1 to MaxReasonLen characters) is shown to the recipient.
func (s *Service) SendBack(ctx context.Context, p account.Principal, id, reason string) (*Case, error) {
	const op = "casework.SendBack"
	if err := checkReason(op, reason); err != nil {
		return nil, err
	}
	c, role, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	from := c.State
	to, err := Next(c.Form, from, EventSendBack, role, turnOf(c))
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	c.State, c.UpdatedAt, c.Reason = to, s.now(), reason
	recipient := c.RegistrantUserID
	switch {
	case to == StateSentBackToParty && role == RoleParty:
		// To the previous party, whose return is undone: it is on turn.
		c.Turn--
		c.Parties[c.Turn].DoneAt = time.Time{}
		recipient = c.Parties[c.Turn].UserID
	case to == StateSentBackToParty:
		// To the party that returned it (the one on turn when it returned).
		c.Parties[c.Turn].DoneAt = time.Time{}
		recipient = c.Parties[c.Turn].UserID
	case role == RoleRegistrant:
		recipient = c.Parties[c.Turn].UserID
	}
	events := s.notices(ctx, NoticeSentBack, c, p, reason, recipient)
	if err := s.commit(ctx, op, p, EventSendBack, from, c, "reason: "+reason, events); err != nil {
		return nil, err
	}
	return c, nil
}

func checkReason(op, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return kerr.E(kerr.Invalid, op, "a reason is required: say what the other side should correct")
	}
	if n := len([]rune(reason)); n > MaxReasonLen {
		return kerr.E(kerr.Invalid, op, "the reason is %d characters long; at most %d are allowed", n, MaxReasonLen)
	}
	if !utfOK(reason) {
		return kerr.E(kerr.Invalid, op, "the reason is not valid UTF-8")
	}
	return nil
}

// Resend sends a sent-back case again (EventResend), from the first
// counterparty. doc, when not nil, is the corrected contract PDF (validated
// like at registration); nil sends the current document again, with any
// signatures it already has.
func (s *Service) Resend(ctx context.Context, p account.Principal, id string, doc *Upload) (*Case, error) {
	const op = "casework.Resend"
	c, role, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	from := c.State
	to, err := Next(c.Form, from, EventResend, role, turnOf(c))
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	detail := "document unchanged"
	if doc != nil {
		if err := checkUpload(op, "contract document", doc); err != nil {
			return nil, err
		}
		f, verdict, err := s.putDocument(ctx, op, doc, File{}, c.Form != FormSendOnly, c.RegistrantCompanyID)
		if err != nil {
			return nil, err
		}
		c.Document, detail = f, "document "+f.Key
		c.Signers = nil
		if ids := recordSigners(c, c.RegistrantCompanyID, verdict, s.now()); ids != "" {
			detail += "; " + ids
		}
	}
	c.Acceptance = File{}
	c.Turn = 0
	for i := range c.Parties {
		c.Parties[i].DoneAt = time.Time{}
	}
	c.State, c.UpdatedAt, c.Reason = to, s.now(), ""
	events := s.notices(ctx, NoticeReceiptRequested, c, p, "", c.Parties[0].UserID)
	if err := s.commit(ctx, op, p, EventResend, from, c, detail, events); err != nil {
		return nil, err
	}
	return c, nil
}

// Complete completes a returned case (EventComplete): it seals the
// contract PDF (and the acceptance, for FormOrderAcceptance) to PAdES
// B-LTA and seals every supplementary file and every sealed PDF with an
// RFC 4998 evidence record (File name + ".ers") through the Sealer, stores the sealed bytes, and only then commits the new state,
// so a crash leaves the case returned, never half completed. Completing
// twice is kerr.FailedPrecondition.
func (s *Service) Complete(ctx context.Context, p account.Principal, id string) (*Case, error) {
	const op = "casework.Complete"
	c, role, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	from := c.State
	to, err := Next(c.Form, from, EventComplete, role, turnOf(c))
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if err := s.seal(ctx, op, c); err != nil {
		return nil, err
	}
	now := s.now()
	c.State, c.UpdatedAt, c.CompletedAt = to, now, now
	var parties []string
	for _, party := range c.Parties {
		parties = append(parties, party.UserID)
	}
	events := s.notices(ctx, NoticeCompleted, c, p, "", parties...)
	failpoint.Hit(failpoint.CompleteSealed)
	if err := s.commit(ctx, op, p, EventComplete, from, c, fmt.Sprintf("%d sealed files", len(c.Sealed)), events); err != nil {
		return nil, err
	}
	failpoint.Hit(failpoint.CompleteCommitted)
	return c, nil
}

// Acknowledge is the counterparty of a FormSendOnly case acknowledging
// receipt (EventAcknowledge), which completes the case; its documents are
// sealed as by Complete.
func (s *Service) Acknowledge(ctx context.Context, p account.Principal, id string) (*Case, error) {
	const op = "casework.Acknowledge"
	c, role, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	from := c.State
	to, err := Next(c.Form, from, EventAcknowledge, role, turnOf(c))
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if err := s.seal(ctx, op, c); err != nil {
		return nil, err
	}
	now := s.now()
	c.Parties[c.Turn].DoneAt = now
	c.State, c.UpdatedAt, c.CompletedAt = to, now, now
	events := s.notices(ctx, NoticeAcknowledged, c, p, "", c.RegistrantUserID)
	if err := s.commit(ctx, op, p, EventAcknowledge, from, c, "", events); err != nil {
		return nil, err
	}
	return c, nil
}

// seal fills c.Sealed, writing every sealed file to Blobs.
func (s *Service) seal(ctx context.Context, op string, c *Case) error {
	var sealed []File
	until := RetainUntil(s.now())
	for _, doc := range []File{c.Document, c.Acceptance} {
		if doc.IsZero() {
			continue
		}
		ra, err := s.blobs.ReaderAt(ctx, doc.Key, doc.Size)
		if err != nil {
			return kerr.Wrap(op, err)
		}
		var key string
		var size int64
		if doc.Size <= storage.MemoryBlob/2 {
			// The sealed file is the document plus its validation data and
			// a timestamp, some tens of kilobytes: it fits in memory too.
			var buf bytes.Buffer
			buf.Grow(int(doc.Size) + 64<<10)
			err = s.sealer.SealPDF(ctx, ra, doc.Size, &buf)
			if err == nil && buf.Len() > storage.MemoryBlob {
				err = fmt.Errorf("the sealed file has %d bytes, more than %d", buf.Len(), storage.MemoryBlob)
			}
			if err == nil {
				key, size, err = s.blobs.PutBytesRetained(ctx, buf.Bytes(), until)
			}
		} else {
			pr, pw := io.Pipe()
			go func() {
				pw.CloseWithError(s.sealer.SealPDF(ctx, ra, doc.Size, pw))
			}()
			key, size, err = s.blobs.PutRetained(ctx, pr, 2*MaxDocumentSize, until)
			pr.CloseWithError(errors.New("sealing aborted")) // unblocks the sealer if Put stopped early
		}
		if err != nil {
			return sealError(op, "sealing "+doc.Name, err)
		}
		sealed = append(sealed, File{Name: sealedName(doc.Name), ContentType: "application/pdf", Key: key, Size: size})
	}
	// Every supplementary file, and each sealed PDF as a second line of
	// evidence, gets an evidence record. The calls run side by side so
	// that the Sealer can put them under one timestamp.
	type job struct {
		name string
		f    File
	}
	var jobs []job
	for _, f := range sealed {
		jobs = append(jobs, job{f.Name, f})
	}
	for _, sup := range c.Supplements {
		jobs = append(jobs, job{sup.Name, sup})
	}
	recs := make([][]byte, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			r, err := s.blobs.Open(ctx, j.f.Key, j.f.Size)
			if err != nil {
				errs[i] = kerr.Wrap(op, err)
				return
			}
			defer r.Close()
			if recs[i], err = s.sealer.SealFile(ctx, r); err != nil {
				errs[i] = kerr.WrapKind(kerr.Unavailable, op, "time-stamping "+j.name+" failed; try again", err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for i, j := range jobs {
		key, size, err := s.blobs.PutRetained(ctx, bytes.NewReader(recs[i]), MaxSupplementSize, until)
		if err != nil {
			return kerr.Wrap(op, err)
		}
		sealed = append(sealed, File{Name: j.name + ".ers", ContentType: ContentTypeEvidenceRecord, Key: key, Size: size})
	}
	c.Sealed = sealed
	return nil
}

// sealError keeps the kind of a sealing failure whose cause will not go
// away by itself (kerr.FailedPrecondition: revocation data missing;
// kerr.Invalid: a file that cannot be sealed), so the message says what to
// configure rather than "try again"; any other failure is
// kerr.Unavailable.
func sealError(op, what string, err error) error {
	switch kerr.Of(err) {
	case kerr.FailedPrecondition, kerr.Invalid:
		return kerr.WrapKind(kerr.FailedPrecondition, op, what+" failed; the case stays returned", err)
	}
	return kerr.WrapKind(kerr.Unavailable, op, what+" failed; try again", err)
}

// ContentTypeEvidenceRecord is the content type of a sealed supplementary
// file's evidence: the DER of an RFC 4998 EvidenceRecord. RFC 4998
// registers no media type; cases completed before evidence records carry
// an RFC 3161 token (name + ".tst", "application/timestamp-reply").
const ContentTypeEvidenceRecord = "application/octet-stream"

func sealedName(name string) string {
	if base, ok := strings.CutSuffix(name, ".pdf"); ok {
		return base + ".sealed.pdf"
	}
	return name + ".sealed.pdf"
}

// Delete deletes (cancels) a case before completion (EventDelete); only
// the registrant may. Deleting a completed case is kerr.FailedPrecondition.
//
// What a deleted case keeps, and for how long: everything, with no
// expiry. The case moves to StateDeleted, a terminal state, and keeps its
// row (case data, parties, recorded signers, the last send-back reason),
// every document it held (the contract PDF as it stood, the acceptance,
// the supplementary files; blobs are content-addressed and never removed
// by Delete), and its audit trail, whose "case.delete" entry names the
// documents kept. The registrant's company and every party sees it as
// before (Get, Open, CheckSignatures, AuditTrail, and Search with
// StateDeleted among Query.States; the default lists leave it out), and
// no event leads out of it. Exchanged documents are 電子取引 records that
// the Electronic Books Preservation Act (電子帳簿保存法 第7条) requires kept
// for the statutory period (7 years, 10 with losses carried forward);
// nothing in this version removes them earlier or at all: an expiry, when
// it comes, will leave a deletion record in the audit chain (see
// ARCHITECTURE, "Nothing is ever deleted silently").
func (s *Service) Delete(ctx context.Context, p account.Principal, id string) (*Case, error) {
	const op = "casework.Delete"
	c, role, err := s.load(ctx, op, p, id)
	if err != nil {
		return nil, err
	}
	from := c.State
	to, err := Next(c.Form, from, EventDelete, role, turnOf(c))
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	c.State, c.UpdatedAt = to, s.now()
	var told []string
	for i := 0; i <= c.Turn && i < len(c.Parties); i++ {
		told = append(told, c.Parties[i].UserID)
	}
	events := s.notices(ctx, NoticeDeleted, c, p, "", told...)
	if err := s.commit(ctx, op, p, EventDelete, from, c, keptDetail(c), events); err != nil {
		return nil, err
	}
	return c, nil
}

// keptDetail names, for the audit entry of a deletion, the documents the
// deleted case keeps.
func keptDetail(c *Case) string {
	var keys []string
	for _, f := range append([]File{c.Document, c.Acceptance}, c.Supplements...) {
		if !f.IsZero() {
			keys = append(keys, f.Name+" "+f.Key)
		}
	}
	return "kept: " + strings.Join(keys, ", ")
}

// Related returns the change, addition and cancellation cases of case id
// that p may see, oldest first (the other direction of Case.OriginalID).
func (s *Service) Related(ctx context.Context, p account.Principal, id string) ([]*Case, error) {
	const op = "casework.Related"
	if _, _, err := s.load(ctx, op, p, id); err != nil {
		return nil, err
	}
	var out []*Case
	q := storage.CaseQuery{Scope: scopeOf(p), OriginalID: id, Sort: storage.SortCreated, Limit: storage.MaxPageSize}
	for {
		page, err := s.store.SearchCases(ctx, &q)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		for _, rec := range page.Cases {
			c, err := fromRecord(rec)
			if err != nil {
				return nil, kerr.Wrap(op, err)
			}
			out = append(out, c)
		}
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// VerifyAudit checks the whole audit log's hash chain and returns the
// number of entries checked; a broken chain is an error wrapping
// storage.ErrChainBroken. With Config.AuditKeys every entry after the
// first keyed one must carry the HMAC of a known key (entries from before
// keys were configured may be plain). Anchors are checked by
// archive.Service.VerifyAudit.
func (s *Service) VerifyAudit(ctx context.Context) (int64, error) {
	v := &storage.ChainVerifier{}
	if s.keys != nil {
		v = &storage.ChainVerifier{Keys: s.keys, AllowUnkeyed: true}
	}
	n, err := storage.VerifyChainWith(ctx, s.store, v)
	return n, kerr.Wrap("casework.VerifyAudit", err)
}

// AuditTrail returns the audit entries of case id, oldest first, for a
// principal that may see it (else kerr.NotFound); at most 10,000. Another
// user's hide, unhide and comment entries are left out (see Hide), and
// so are another company's disclosure entries ("disclosure.*").
func (s *Service) AuditTrail(ctx context.Context, p account.Principal, id string) ([]storage.AuditEntry, error) {
	const op = "casework.AuditTrail"
	if _, _, err := s.load(ctx, op, p, id); err != nil {
		return nil, err
	}
	var out []storage.AuditEntry
	var after int64
	for len(out) < 10000 {
		page, err := s.store.ListAudit(ctx, after, id, 1000)
		if err != nil {
			return nil, kerr.Wrap(op, err)
		}
		if len(page) == 0 {
			break
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
	return ownTrail(p, out), nil // hide.go
}
