package keiyaku_test

import (
	"strings"
	"testing"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/notify"
	"github.com/keiyaku/keiyaku/signature"
)

// TestEveryForm takes a case of each two-party form from registration to
// completion through the facade, checking the notices and the sealed
// originals. (The multi-party form has TestMultiPartyLifecycle.)
func TestEveryForm(t *testing.T) {
	w := newWorld(t)
	a, b := w.m["A"], w.m["B"]
	for _, tc := range []struct {
		name     string
		form     casework.Form
		unsigned bool // the registrant sends the PDF unsigned
		// original is the expected Original of each sealed PDF.
		original []bool
	}{
		{"order and separate acceptance", casework.FormOrderAcceptance, false, []bool{true, true}},
		{"order and acceptance in one document", casework.FormOrderAcceptanceCombined, false, []bool{true}},
		{"bilateral", casework.FormBilateral, false, []bool{true}},
		{"send-only, signed", casework.FormSendOnly, false, []bool{true}},
		// Nothing to raise to B-LTA: the PDF gets a document timestamp
		// and is reported as not original for want of a signature.
		{"send-only, unsigned", casework.FormSendOnly, true, []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "form " + tc.form.String()
			doc := contract("Order " + tc.name)
			if !tc.unsigned {
				doc = w.sign(a, doc)
			}
			c, err := w.svc.Cases.Register(w.ctx, a.P, &casework.NewCase{
				Form: tc.form, Name: name, Amount: casework.Money{Amount: 300, Currency: "JPY"},
				TransactionDate: civil.DateOf(today()), Parties: []casework.Party{w.party(b)}, Document: upload("order.pdf", doc),
				Supplements: []casework.Upload{{Name: "明細.csv", ContentType: "text/csv", Body: strings.NewReader("品目,数量\r\n保守,1\r\n")}},
			})
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			w.expectMails(name, notice{To: b, Type: notify.EventReceiptRequested})
			got := w.receive(b, c.ID)
			switch tc.form {
			case casework.FormSendOnly:
				if c, err = w.svc.Cases.Acknowledge(w.ctx, b.P, c.ID); err != nil || c.State != casework.StateCompleted {
					t.Fatalf("Acknowledge = %+v, %v", c, err)
				}
				w.expectMails(name, notice{To: a, Type: notify.EventAcknowledged})
			default:
				ret := w.sign(b, got)
				if tc.form == casework.FormOrderAcceptance {
					ret = w.sign(b, contract("Acceptance of "+tc.name))
				}
				if c, err = w.svc.Cases.Return(w.ctx, b.P, c.ID, upload("signed.pdf", ret)); err != nil || c.State != casework.StateReturned {
					t.Fatalf("Return = %+v, %v", c, err)
				}
				w.expectMails(name, notice{To: a, Type: notify.EventReturned})
				if c, err = w.svc.Cases.Complete(w.ctx, a.P, c.ID); err != nil || c.State != casework.StateCompleted {
					t.Fatalf("Complete = %+v, %v", c, err)
				}
				w.expectMails(name, notice{To: b, Type: notify.EventCompleted})
			}
			oc, err := w.svc.VerifyOriginal(w.ctx, b.P, c.ID)
			if err != nil {
				t.Fatalf("VerifyOriginal: %v", err)
			}
			if len(oc.PDFs) != len(tc.original) {
				t.Fatalf("%d sealed PDFs, want %d", len(oc.PDFs), len(tc.original))
			}
			all := true
			for i, p := range oc.PDFs {
				all = all && tc.original[i]
				if p.Verdict.Original != tc.original[i] {
					t.Errorf("%s: original %v, want %v: %v", p.File.Name, p.Verdict.Original, tc.original[i], p.Verdict.Reasons)
				}
				if tc.original[i] && p.Verdict.Report.Level != signature.LevelBLTA {
					t.Errorf("%s: level %s, want B-LTA", p.File.Name, p.Verdict.Report.Level)
				}
				if p.Verdict.Sealed.IsZero() {
					t.Errorf("%s: no valid document timestamp", p.File.Name)
				}
			}
			// Each supplementary file is checked against its own RFC 3161
			// token, whatever the form.
			if len(oc.Files) != 1 || oc.Files[0].File.Name != "明細.csv" || oc.Files[0].Token.IsZero() || !oc.Files[0].Verdict.Original {
				t.Errorf("supplementary files verified: %+v; want 明細.csv original", oc.Files)
			}
			if oc.Original != all {
				t.Errorf("OriginalCheck.Original = %v, want %v", oc.Original, all)
			}
		})
	}
}
