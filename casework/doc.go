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
