package portal

import (
	"context"
	"net/http"
	"net/url"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

// Each user's own marks on completed cases (issue 12): hide a case from
// one's lists (非表示) and a private comment (完了後コメント). Both are
// casework's, for the logged-in user alone.

// hiddenModes are the completed list's hidden filter values, the
// default first.
var hiddenModes = []string{"exclude", "only", "include"}

// parseHidden reads the completed list's hidden filter; empty is the
// default (exclude), anything else unknown is kerr.Invalid.
func parseHidden(v string) (casework.HiddenMode, error) {
	switch v {
	case "", "exclude":
		return casework.HiddenExclude, nil
	case "only":
		return casework.HiddenOnly, nil
	case "include":
		return casework.HiddenInclude, nil
	}
	return casework.HiddenExclude, kerr.E(kerr.Invalid, "portal.parseHidden", "the hidden filter %q must be exclude, only or include", v)
}

// back is where a hide or unhide form comes back to: the local page it
// names in "next" (the completed list it was on), else the case.
func (h *Handler) back(r *http.Request, id string) string {
	if next := r.PostFormValue("next"); localPath(next) {
		return next
	}
	return h.url("/cases/" + url.PathEscape(id))
}

func (h *Handler) setHidden(hide bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, pg *page) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		id := r.PathValue("id")
		var err error
		if hide {
			err = h.svc.Cases.Hide(r.Context(), pg.P, id)
		} else {
			err = h.svc.Cases.Unhide(r.Context(), pg.P, id)
		}
		if err != nil {
			h.actionFailed(w, r, pg, id, err, nil, nil, "")
			return
		}
		next := h.back(r, id)
		u, perr := url.Parse(next)
		if perr == nil {
			q := u.Query()
			q.Set("done", map[bool]string{true: "hide", false: "unhide"}[hide])
			u.RawQuery = q.Encode()
			next = u.String()
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

func (h *Handler) saveComment(w http.ResponseWriter, r *http.Request, pg *page) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	id := r.PathValue("id")
	text := r.PostFormValue("comment")
	var err error
	if r.PostFormValue("delete") != "" || text == "" {
		err = h.svc.Cases.DeleteComment(r.Context(), pg.P, id)
		if kerr.Of(err) == kerr.NotFound {
			// Nothing to delete: only a case p may not see stays an error.
			if _, gerr := h.svc.Cases.Get(r.Context(), pg.P, id); gerr == nil {
				err = nil
			}
		}
		if err == nil {
			h.redirect(w, r, "/cases/"+url.PathEscape(id)+"?done=comment-delete#comment-h")
			return
		}
	} else if _, err = h.svc.Cases.SetComment(r.Context(), pg.P, id, text); err == nil {
		h.redirect(w, r, "/cases/"+url.PathEscape(id)+"?done=comment#comment-h")
		return
	}
	pg.Data = commentDraft(text)
	h.actionFailed(w, r, pg, id, err, nil, nil, "")
}

// commentDraft is a refused comment as typed, shown again in the box.
type commentDraft string

// personal adds the viewer's own marks on completed case id to the case
// page's data: Hidden, Comment (the text, "" for none), CommentAt.
func (h *Handler) personal(ctx context.Context, p account.Principal, id string, data map[string]any) error {
	hidden, err := h.svc.Cases.IsHidden(ctx, p, id)
	if err != nil {
		return err
	}
	cm, err := h.svc.Cases.Comment(ctx, p, id)
	if err != nil {
		return err
	}
	data["Hidden"], data["MaxComment"], data["Personal"] = hidden, casework.MaxCommentRunes, true
	if cm != nil {
		data["Comment"], data["CommentAt"] = cm.Text, cm.UpdatedAt
	}
	return nil
}
