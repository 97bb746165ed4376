package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/kerr/kmsg"
)

// ProblemBase is the prefix of every problem type URI; a type is
// ProblemBase + a stable name such as "not-found" (RFC 9457 §3.1.1).
const ProblemBase = "https://keiyaku.dev/problems/"

// problemKind is one stable problem type: its HTTP status, its fixed
// title and the plain-language detail in English and Japanese that a
// client may show as is.
type problemKind struct {
	name   string
	status int
	title  string
	en, ja string
}

var (
	pNotFound        = problemKind{"not-found", 404, "Not found", "The thing named does not exist or you may not see it.", "指定された対象は存在しないか、閲覧する権限がありません。"}
	pInvalid         = problemKind{"invalid", 400, "Invalid request", "The request is malformed or a value is out of range; correct it and send it again.", "リクエストの形式または値に誤りがあります。修正して再送してください。"}
	pConflict        = problemKind{"conflict", 409, "Conflict", "Someone changed this at the same time, or it already exists; reload and try again.", "同時に別の変更が行われたか、既に存在します。再読み込みしてやり直してください。"}
	pPermission      = problemKind{"permission-denied", 403, "Permission denied", "You may not do this.", "この操作を行う権限がありません。"}
	pUnauthenticated = problemKind{"unauthenticated", 401, "Unauthenticated", "Log in first, or your session has ended, or the login ID or password is wrong.", "ログインしてください(セッションが終了したか、ログインIDまたはパスワードが誤っています)。"}
	pPrecondition    = problemKind{"failed-precondition", 409, "Not allowed in this state", "The case or account is not in a state that allows this action.", "現在の状態ではこの操作はできません。"}
	pUnavailable     = problemKind{"unavailable", 503, "Unavailable", "A service this depends on is unavailable; try again later.", "依存するサービスが一時的に利用できません。時間をおいて再試行してください。"}
	pInternal        = problemKind{"internal", 500, "Internal error", "Something went wrong on the server; it has been logged.", "サーバーで問題が発生しました。記録済みです。"}
	pTooLarge        = problemKind{"too-large", 413, "Too large", "The request is larger than the stated limit.", "リクエストが上限を超えています。"}
	pStale           = problemKind{"precondition-failed", 412, "Stale version", "The case has changed since you read it (If-Match); reload it and try again.", "案件は取得後に変更されています(If-Match)。再読み込みしてやり直してください。"}
	pPrecondRequired = problemKind{"precondition-required", 428, "Precondition required", "Case actions need If-Match with the case's ETag (from its last answer or GET /v1/cases/{id}); send it and try again.", "案件の操作には If-Match ヘッダーに案件の ETag(直前の応答または GET /v1/cases/{id} で取得)が必要です。付けて再送してください。"}
	pMediaType       = problemKind{"unsupported-media-type", 415, "Unsupported media type", "The request body has a content type this operation does not accept.", "このリクエスト本文の Content-Type は受け付けられません。"}
	pIdemReused      = problemKind{"idempotency-key-reused", 422, "Idempotency key reused", "This Idempotency-Key was used with another request body; use a new key.", "この Idempotency-Key は別の内容のリクエストで使用済みです。新しいキーを使ってください。"}
	pIdemInFlight    = problemKind{"idempotency-key-in-use", 409, "Idempotency key in use", "A request with this Idempotency-Key is still being processed; retry later.", "この Idempotency-Key のリクエストは処理中です。しばらくして再試行してください。"}
	pPasswordChange  = problemKind{"password-change-required", 403, "Password change required", "Change the initial password first (PUT /v1/me/password).", "初期パスワードを先に変更してください(PUT /v1/me/password)。"}
	pCrossOrigin     = problemKind{"cross-origin", 403, "Cross-origin request refused", "A state-changing request from another site was refused.", "他サイトからの状態変更リクエストは拒否されました。"}
	pMethod          = problemKind{"method-not-allowed", 405, "Method not allowed", "This resource does not accept that method.", "このリソースはそのメソッドを受け付けません。"}
	pNoRoute         = problemKind{"no-such-resource", 404, "No such resource", "No operation of the API has this path.", "このパスの操作は API にありません。"}
	// pAddress is account.ErrAddressNotAllowed: the user's IP allow-list
	// (IP restriction) does not hold the address the request came from.
	pAddress = problemKind{"address-not-allowed", 403, "Address not allowed", "Your account may not be used from this network address (IP restriction); use it from an allowed network, or ask your company administrator to add this address.", "このネットワークアドレスからはご利用いただけません(IP制限)。許可されたネットワークから利用するか、会社の管理者にこのアドレスの追加を依頼してください。"}
)

// problemOf returns the problem kind of err (by its kerr kind).
func problemOf(err error) problemKind {
	var pe *problemError
	if errors.As(err, &pe) {
		return pe.kind
	}
	if errors.Is(err, account.ErrPasswordChangeRequired) {
		return pPasswordChange
	}
	if errors.Is(err, account.ErrAddressNotAllowed) {
		return pAddress
	}
	switch kerr.Of(err) {
	case kerr.NotFound:
		return pNotFound
	case kerr.Invalid:
		return pInvalid
	case kerr.Conflict:
		return pConflict
	case kerr.PermissionDenied:
		return pPermission
	case kerr.Unauthenticated:
		return pUnauthenticated
	case kerr.FailedPrecondition:
		return pPrecondition
	case kerr.Unavailable:
		return pUnavailable
	}
	return pInternal
}

// problemError is an error httpapi raises itself with a problem kind of
// its own (413, 412, 415, ...), the JSON pointers of invalid fields and,
// for 413, the limit.
type problemError struct {
	kind   problemKind
	msg    string // for the log only
	fields []fieldError
	limit  int64
	// cause, when set, is the domain error behind the problem; its
	// message code (kerr/kmsg) gives the detail and the fields' details
	// in the request's language.
	cause error
}

type fieldError struct{ pointer, detail string }

func (e *problemError) Error() string { return e.kind.name + ": " + e.msg }

// Is lets errors.Is(err, kerr.Invalid) hold for httpapi's own 400s.
func (e *problemError) Is(target error) bool {
	return target == kerr.Invalid && e.kind.status == 400
}

func problemf(k problemKind, msg string, fields ...fieldError) error {
	return &problemError{kind: k, msg: msg, fields: fields}
}

// japanese reports whether the request's Accept-Language prefers Japanese
// to English (RFC 9110 §12.5.4; q-values honoured, anything else falls
// back to English).
func japanese(r *http.Request) bool {
	best, bestQ := "", 0.0 // q=0 means "not acceptable" (RFC 9110 §12.4.2)
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q = parseQ(v)
		}
		if (strings.HasPrefix(tag, "ja") || strings.HasPrefix(tag, "en")) && q > bestQ {
			best, bestQ = tag[:2], q
		}
	}
	return best == "ja"
}

func parseQ(v string) float64 {
	q := 0.0
	switch {
	case v == "1" || strings.HasPrefix(v, "1."):
		return 1
	case strings.HasPrefix(v, "0."):
		scale := 0.1
		for _, c := range v[2:] {
			if c < '0' || c > '9' {
				break
			}
			q += float64(c-'0') * scale
			scale /= 10
		}
	}
	return q
}

// writeProblem answers err as an RFC 9457 problem document. The detail is
// the refusal's own message in the request's language when err carries a
// message code (kerr.Coded, package kerr/kmsg), else the kind's fixed
// plain-language text; the message of err, which may name internals, goes
// only to the log (every 5xx at error level).
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	k := problemOf(err)
	detail, lang := k.en, "en"
	if japanese(r) {
		detail, lang = k.ja, "ja"
	}
	// httpapi's own problems (413, 415, ...) keep their kind's words
	// unless they carry a domain cause.
	src := err
	var cpe *problemError
	if errors.As(err, &cpe) {
		src = cpe.cause
	}
	coded, isCoded := "", false
	if k.status < 500 && src != nil {
		coded, isCoded = kmsg.Localize(src, lang)
	}
	if isCoded {
		detail = coded
	}
	p := Problem{Type: ProblemBase + k.name, Title: k.title, Status: k.status, Detail: &detail}
	if r.URL != nil {
		inst := r.URL.Path
		p.Instance = &inst
	}
	var pe *problemError
	if !errors.As(err, &pe) && !isCoded {
		// The domain's own words for bad input say what was wrong and
		// how to fix it (kerr's contract); they name no internals.
		// Without a message code they are in English only.
		if kk := kerr.Of(err); kk == kerr.Invalid || kk == kerr.FailedPrecondition || kk == kerr.Conflict {
			if msg := domainMessage(err); msg != "" {
				pe = &problemError{kind: k, fields: []fieldError{{pointer: "", detail: msg}}}
			}
		}
	}
	if pe != nil {
		if pe.limit > 0 {
			p.Limit = &pe.limit
		}
		if len(pe.fields) > 0 {
			list := make([]struct {
				Detail  string `json:"detail"`
				Pointer string `json:"pointer"`
			}, len(pe.fields))
			for i, f := range pe.fields {
				list[i].Detail, list[i].Pointer = f.detail, f.pointer
				if isCoded && pe.cause != nil {
					list[i].Detail = coded
				}
			}
			p.Errors = &list
		}
	}
	if log != nil {
		lvl := slog.LevelInfo
		if k.status >= 500 {
			lvl = slog.LevelError
		}
		log.Log(r.Context(), lvl, "request refused", "status", k.status, "type", k.name, "err", err.Error(), "path", r.URL.Path)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Language", map[bool]string{true: "ja", false: "en"}[japanese(r)])
	w.WriteHeader(k.status)
	_ = json.NewEncoder(w).Encode(p)
}

// domainMessage is the message of the innermost kerr.Error with one,
// without the operation names of the layers.
func domainMessage(err error) string {
	msg := ""
	for err != nil {
		if ke, ok := err.(*kerr.Error); ok {
			var inner *kerr.Error
			switch {
			case ke.Msg != "":
				msg = ke.Msg
			case ke.Err != nil && !errors.As(ke.Err, &inner):
				msg = ke.Err.Error()
			}
		}
		err = errors.Unwrap(err)
	}
	return msg
}
