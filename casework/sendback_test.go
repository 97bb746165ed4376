package casework_test

import (
	"context"
	"slices"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
)

// Send back goes to the side that sent the case: the counterparty's to the
// registrant, the registrant's (of a returned case) to the counterparty
// that returned it, who may then return it again.
func TestSendBackBothDirections(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormBilateral, sign(pdf("契約書"), "co1")))
	if err != nil {
		t.Fatal(err)
	}
	sent := receive(t, e, u2, c.ID)
	if c, err = e.svc.SendBack(ctx, u2, c.ID, "第3条を直してください"); err != nil || c.State != casework.StateSentBack {
		t.Fatalf("counterparty's send-back: %v, %v", c, err)
	}
	if c, err = e.svc.Resend(ctx, u1, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	sent = receive(t, e, u2, c.ID)
	returned := sign(sent, "co2")
	if c, err = e.svc.Return(ctx, u2, c.ID, upload(returned)); err != nil || c.State != casework.StateReturned {
		t.Fatalf("return: %v", err)
	}
	c, err = e.svc.SendBack(ctx, u1, c.ID, "押印欄が違います")
	if err != nil || c.State != casework.StateSentBackToParty || c.Turn != 0 || !c.Parties[0].DoneAt.IsZero() {
		t.Fatalf("registrant's send-back of a returned case: %+v, %v", c, err)
	}
	if got := casework.RoleOf(u2, c); got != casework.RoleParty {
		t.Errorf("the counterparty's role after the send-back = %s, want party", got)
	}
	if _, err := e.svc.Complete(ctx, u1, c.ID); err == nil {
		t.Fatal("a case sent back to the counterparty was completed")
	}
	again := receive(t, e, u2, c.ID)
	if !slices.Equal(again, returned) {
		t.Fatal("the counterparty did not get back the document it returned")
	}
	if c, err = e.svc.Return(ctx, u2, c.ID, upload(sign(again, "co2"))); err != nil || c.State != casework.StateReturned {
		t.Fatalf("returning again: %v", err)
	}
	want := []string{"receipt_requested>u2/en", "sent_back>u1/ja", "receipt_requested>u2/en", "returned>u1/ja", "sent_back>u2/en", "returned>u1/ja"}
	if got := events(t, e); !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

// In a 3-party case a party's send-back goes to the party before it, the
// first party's to the registrant, and the registrant's (of the returned
// case) to the last party.
func TestSendBackThreeParties(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Register(ctx, u1, newCase(casework.FormMultiParty, sign(pdf("三者間契約書"), "co1"), partyCo2, partyCo3))
	if err != nil {
		t.Fatal(err)
	}
	if c, err = e.svc.Return(ctx, u2, c.ID, upload(sign(receive(t, e, u2, c.ID), "co2"))); err != nil || c.Turn != 1 {
		t.Fatalf("first return: %v", err)
	}
	receive(t, e, u3, c.ID)
	c, err = e.svc.SendBack(ctx, u3, c.ID, "co2 の署名者が違います")
	if err != nil || c.State != casework.StateSentBackToParty || c.Turn != 0 || !c.Parties[0].DoneAt.IsZero() {
		t.Fatalf("second party's send-back: %+v, %v", c, err)
	}
	if casework.RoleOf(u3, c) != casework.RoleNone || casework.RoleOf(u2, c) != casework.RoleParty {
		t.Fatal("after the send-back the first party should be on turn, not the second")
	}
	// The first party signs again and passes it on.
	if c, err = e.svc.Return(ctx, u2, c.ID, upload(sign(receive(t, e, u2, c.ID), "co2"))); err != nil || c.Turn != 1 || c.State != casework.StateSent {
		t.Fatalf("first party's second return: %+v, %v", c, err)
	}
	if c, err = e.svc.Return(ctx, u3, c.ID, upload(sign(receive(t, e, u3, c.ID), "co3"))); err != nil || c.State != casework.StateReturned {
		t.Fatalf("last return: %v", err)
	}
	if c, err = e.svc.SendBack(ctx, u1, c.ID, "日付を確認してください"); err != nil || c.State != casework.StateSentBackToParty || c.Turn != 1 {
		t.Fatalf("registrant's send-back: %+v, %v", c, err)
	}
	receive(t, e, u3, c.ID)
	if c, err = e.svc.SendBack(ctx, u3, c.ID, "前の方へ"); err != nil || c.State != casework.StateSentBackToParty || c.Turn != 0 {
		t.Fatalf("send-back onward to the first party: %+v, %v", c, err)
	}
	receive(t, e, u2, c.ID)
	if c, err = e.svc.SendBack(ctx, u2, c.ID, "登録者へ"); err != nil || c.State != casework.StateSentBack || c.Turn != 0 {
		t.Fatalf("first party's send-back to the registrant: %+v, %v", c, err)
	}
	var sentBack []string
	for _, ev := range events(t, e) {
		if len(ev) > 9 && ev[:9] == "sent_back" {
			sentBack = append(sentBack, ev)
		}
	}
	want := []string{"sent_back>u2/en", "sent_back>u3/en", "sent_back>u2/en", "sent_back>u1/ja"}
	if !slices.Equal(sentBack, want) {
		t.Errorf("send-back notices = %v, want %v", sentBack, want)
	}
}
