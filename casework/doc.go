// Package casework is the contract case: the five contract forms, case data
// and documents, the lifecycle state machine, related cases, search and CSV
// export, and Service, which carries cases through their lifecycle on a
// storage.Store.
//
// The lifecycle is a pure transition table (Next) over const states and
// events. Service applies it with a version check: each action is one
// storage transaction writing the case's new row, a hash-chained audit entry
// and the outbox events that notify the people concerned. Of two
// concurrent conflicting actions exactly one wins; the other gets an error
// of kind kerr.Conflict.
//
// Service reaches PDF validation, sealing and notification delivery only
// through the small interfaces declared here (Validator, Sealer) and the
// outbox; the facade wires in the real implementations.
//
// Every call acts as an account.Principal. A user sees and acts on its own
// cases; a company administrator on every case of its company; nobody on
// another company's case unless that company is a party to it. A case the
// principal may not see does not exist for it (kerr.NotFound).
//
// Dates and times: business dates (the transaction date) are calendar
// dates, civil.Date, in no time zone; instants (creation, completion) are
// time.Time and are searched by day and exported in the time zone of the
// principal's company (account.CompanyTimeZone, Asia/Tokyo by default).
// A search gives the same answer whatever the zone of the server. The CSV
// export is UTF-8 with a byte order mark by default, so that Excel in
// Japanese opens it correctly; Shift_JIS is an option (CSVOptions).
//
// Integrity rules: every signature an upload adds must come from a
// certificate registered to the company that uploads it (the registrant's
// at Register and Resend, the party on turn's at Return, the accepting
// company's for a separate acceptance); the case records each signer
// (Case.Signers) and the audit entry names it. Counterparties name a
// company and a user of the directory; the stored name is the
// directory's. A signed upload that the Sealer says could not be sealed
// (SealChecker) is refused at once rather than at Complete. Send back goes
// to the side that sent the case (StateSentBack to the registrant,
// StateSentBackToParty to a counterparty). A deleted case keeps
// everything, with no expiry (see Service.Delete).
//
// Personal marks (issue 12, "Hide and private comments"): on a completed
// case each user may hide it from their own lists (Service.Hide, Unhide;
// Query.Hidden leaves hidden cases out by default, or lists only them, or
// both) and keep one private comment (Service.SetComment, Comment,
// DeleteComment; MaxCommentRunes, checked by CheckComment). Both are the
// user's alone: a colleague, an administrator or the counterparty neither
// sees the mark nor is affected by it, and AuditTrail shows a user's
// hide, unhide and comment entries to that user only. Every change is
// audited (ActionHide, ActionUnhide, ActionComment); a comment's entry
// says that it was set or deleted, never what it says.
//
// Moving completed cases (issue 12, transfer.go): MoveCase and
// MoveUserCases give a user's side of completed cases to another user —
// within a company by its administrator, between companies by the service
// operator — re-indexing who may find them in the same commit and
// auditing both sides. The service operator sees no case (kerr.NotFound
// by ID, kerr.PermissionDenied for lists and registration).
// Webhooks (issue 13): when Config.Webhooks is set, every state change
// asks it (WebhookPlanner, normally package webhook) for the deliveries
// of the companies on the case that subscribed to the change's event
// (WebhookEvent), and they commit in the same transaction as the new
// state, its audit entry and its outbox rows.
//
// Reminders (issue 12, beyond the seed): SendReminders, run hourly by the
// scheduled jobs, reminds the user a case waits for once per interval the
// registrant's company set (account.Service.SetReminderDays), and tells
// both sides once when the case's reply-by date (NewCase.ReplyBy,
// SetReplyBy) has passed; it changes no case.
// # Third-party disclosure (第三者開示)
//
// A disclosure principal (account.Principal.IsDisclosure, from a login
// of a disclosure account that a user made with
// account.Service.CreateDisclosure) reads the cases its account was
// given and nothing else: Search (only those cases, only completed ones,
// no hidden marks applied), Get, Open (every file: the contract PDF, the
// supplementary and the sealed files), CheckSignatures and the facade's
// original verification (LoadForVerification). The checks live in two
// places that every operation passes: load (a case it was not given is
// kerr.NotFound; any operation but those reads on a case it was given is
// kerr.PermissionDenied: every mutation, hide and comments, the audit
// trail, related cases) and search. Register and ExportCSV refuse it
// with kerr.PermissionDenied. The account must still work at the time of
// each call (account.ActiveDisclosure: not revoked, inside its period,
// its owner an enabled user), else kerr.Unauthenticated, so that a
// Principal held across the end of the period stops working at once.
// Every read is audited under the account (actions "disclosure.view",
// "disclosure.search", "disclosure.download" naming the file and its
// key, "disclosure.signature-check", "disclosure.verify", with the remote
// address), which the owner lists with account.Service.AccessLog. The
// case's AuditTrail shows these entries to the owner's company only:
// that a party showed the contract to an auditor is not the
// counterparty's business.
//
// Which cases a disclosure covers: only completed cases of which its
// owner is the registrant user or a party user (Disclosable, the
// account.CaseGate), and only while that stays true. Both load and
// search check it at the time of access — search through the owner's
// personal scope (storage.Scope with the owner's user) — so when a case
// moves to another owner (完了案件の移動), it silently leaves every
// disclosure of the old owner: the new owner never granted it. The case
// ID stays in the account's list (account.DisclosureInfo.Cases) until
// the old owner changes the list; should the case ever move back, it is
// shown again.
// Retention (issue 12, 保管期間; retention.go): a completion starts the
// case's Retention in the same commit — RetentionYears from its start
// (RetentionStart: the completion date, or the day after the fiscal
// year's filing deadline, in the owner company's zone), then extended by
// ExtensionYears or deleted (SetRetention, by the registrant's side;
// the company default in RetentionSettings). Administrators of every
// party company place and lift their own legal holds (PlaceHold,
// LiftHold); a held case is never deleted. SweepRetention, run by a
// scheduled job, notices the owner Config.RetentionNotice before and then
// deletes: a deletion record time-stamped through Config.Stamper and named
// by the audit chain first, then the blobs no other case uses, then the
// rows; every step may crash and resume. Every refusal of these calls is
// audited (ActionRetentionDenied).
package casework
