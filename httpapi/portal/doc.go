// Package portal is the white-label web portal of keiyaku: server-rendered
// pages, in Japanese (the default) and English, over a *keiyaku.Service,
// for the people who sign contracts in a browser (issue #14).
//
// New(Config) returns an http.Handler. It talks to the Go facade directly
// (Service.Accounts, Service.Cases, Service.Archive, Service.VerifyOriginal);
// every rule stays in the domain packages, and the actions a page offers
// are those casework.Next allows the viewer now.
//
// # Mounting
//
// At the root of a server, beside the REST API:
//
//	p, err := portal.New(portal.Config{Service: svc, Brand: portal.Brand{Name: "Acme 契約"}})
//	mux := http.NewServeMux()
//	mux.Handle("/v1/", api)
//	mux.Handle("/", p)
//
// Under a prefix, set Config.BasePath and strip it:
//
//	p, err := portal.New(portal.Config{Service: svc, BasePath: "/portal"})
//	mux.Handle("/portal/", http.StripPrefix("/portal", p))
//
// Set keiyaku.Config.CaseURL to the portal's case page
// (https://host/BasePath/cases/{id}) so that notice e-mails link to it.
//
// # Pages
//
// Login and logout; the forced change of an initial password; the profile;
// the open cases (status, whose turn, what the viewer may do now); a case
// with its documents, the service's signature report
// (casework.Service.CheckSignatures: every signer certificate's subject,
// organization, issuer, serial, validity, key usage and policies, the
// company whose upload carried it, the verdict, and whether the contract
// can be sealed on completion), and the actions receive (download), return a countersigned
// PDF, send back with a reason, resend, complete and delete; registration
// (form, case data, up to casework.MaxMultiParties counterparties, the
// signed contract PDF and up to casework.MaxSupplements files, with an
// upload progress bar where JavaScript runs, and a "check only" button
// that shows the signature verdict before anything is sent); completed cases searched by
// transaction date, amount and counterparty (ranges, combined, as the
// 電子帳簿保存法 asks), CSV export, original verification (printable) and
// the case's audit trail; for company administrators only (/company),
// the signing certificates a signature must come from (list, register by
// uploading a PEM or DER file, register an issuing CA with the company's
// organization name and/or 法人番号, remove; issue #9) and the trading
// partners (list, add from the directory, remove); and the users
// (/company/users: each user's state — active, initial password, locked,
// disabled — last login and IP allow-list; add a user, showing its initial
// password once; a user's page to disable or enable it, unlock it, issue
// a new initial password (shown once), end its sessions and edit its IP
// allow-list). On completed cases every user hides and unhides cases
// from its own lists (the completed list's hidden filter: leave out,
// only, all) and keeps a private note on the case page. When the IP
// restriction refuses the address a login or any later request comes
// from (account.ErrAddressNotAllowed), the portal answers 403 with a page
// that says so plainly, shows the address seen and what to do.
//
// Third-party disclosure (第三者開示): a user's own disclosure accounts
// under /disclosures (list; create with label, login ID and period, the
// initial password shown once; choose cases from the user's completed
// cases; change the period; revoke; the access log in words). A
// disclosure login (account.Principal.IsDisclosure) reaches only /shared
// (a read-only list of the cases it was given), /shared/{id} (the case's
// files), the files' downloads and the original verification; every other
// page sends it back to /shared, so it has no actions, comments or hide.
// Outside its period or once revoked its session ends and its login fails
// like any other.
//
// Retention (保管期間) and legal hold on the completed case page: the
// retention end date and policy, which the owner side sets (extend or
// delete), and the legal holds, which an administrator of a party company
// places or lifts with a reason; an administrator's /company/deletions
// lists the company's cases due for deletion by a day (default a year
// ahead), leaving out held ones. casework decides who may.
//
// The service operator (account.Principal.Operator) has /operator: create
// a company with its first administrator (the initial password shown
// once) and approve or reject pending company-name requests with a note;
// a company administrator asks for a new name at /company/name and sees
// its requests. account refuses (and audits) anyone else.
//
// # Security
//
// Every answer carries a Content-Security-Policy allowing scripts, styles
// and images only from the portal (no inline script or style: brand
// colours are served as /static/brand.css), frame-ancestors 'none' and
// nosniff. The session cookie is HttpOnly, SameSite=Lax and Secure (named
// __Host-session) unless Config.InsecureCookies; every state-changing
// request passes http.CrossOriginProtection. Errors are shown in plain
// words chosen by their kerr kind, with the technical text behind a
// disclosure (never for internal errors).
//
// # Language
//
// Japanese unless the browser prefers English (Accept-Language, matched by
// golang.org/x/text/language) or the person chose it with the switch on
// every page (a "lang" cookie). Messages live in messages.json, one entry
// per key with "ja" and "en"; amounts are shown as ¥1,100,000, dates as
// 2026年12月4日 / 4 Dec 2026, times in JST.
//
// # Not here
//
// Login rate limiting beyond the account lockout of package account, and
// X-Forwarded-For from trusted proxies, belong to the server that mounts
// the portal (httpapi); the portal reads the client address from
// r.RemoteAddr.
//
// # Limits
//
// A form without files is read up to MaxFormBytes; an upload up to
// MaxUploadBytes, of which 1 MiB is held in memory and the rest spooled
// to temporary files; the documents' own limits are casework's. A
// certificate file is at most MaxCertificateFileBytes, a directory search
// MaxDirectoryQueryLen characters, the allow-list edit box
// MaxAllowListText bytes (account.MaxAllowListEntries entries).
package portal
