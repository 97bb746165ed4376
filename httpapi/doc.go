// Package httpapi is the REST API of keiyaku: an embeddable http.Handler
// over a *keiyaku.Service, with the OpenAPI 3 document (openapi.yaml,
// served at /openapi.json) as its source. The server interface and the Go
// client in api.gen.go are generated from that document by oapi-codegen
// v2.8.2 (see generate.go); every request is validated against it with
// kin-openapi's openapi3filter before a handler runs.
//
// Handlers only translate: they decode a request, call the facade's
// parts (casework, account, archive) as the caller's account.Principal,
// and encode the answer. Every rule lives in those packages. This is the
// only package that maps kerr kinds to HTTP statuses, as RFC 9457
// problem documents (see ProblemType).
//
// Limits: see the constants MaxJSONBody, MaxRegisterBody, MaxHeaderBytes
// and the casework limits on documents; larger requests get 413. A
// synchronous bulk verification covers at most Config.MaxBulkCases
// (DefaultMaxBulkCases) completed cases.
//
// Authorization is the domain packages'; the API token scope is checked
// before: read for GET and the stateless verifications, admin for token
// management and for the operations the document marks
// `x-keiyaku-admin: true` (the company's signing certificates, partners,
// corporate number, time zone, the users, their IP allow-lists and
// user controls, webhooks, legal holds, retention settings, upcoming
// deletions, moves, the disclosure limit, the operator's calls and
// name-change requests), write for the rest. A scope refusal is
// audited (account.Service.AuditDenial: one "access.denied" entry per
// refusal with the user, the operation, the reason and the address).
package httpapi
