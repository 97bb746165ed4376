package main

import (
	"errors"
	"time"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
)

// disclose shows completed case id to an outside auditor (第三者開示):
// owner creates a disclosure account for that one case, for a day; its
// login sees the case, and only it, and verifies the original. Every read
// is in the owner's access log and audit trail, never the counterparty's.
func (d *demo) disclose(owner *person, id string) {
	d.say("\n== disclosure of a completed case to an auditor")
	mine, err := d.svc.Cases.Search(d.ctx, owner.p, &casework.Query{States: []casework.State{casework.StateCompleted}})
	check(err)
	acct, initial, err := d.svc.Accounts.CreateDisclosure(d.ctx, owner.p, account.NewDisclosure{
		LoginID: "auditor-a", Label: "監査法人 / auditor", Until: time.Now().Add(24 * time.Hour), Cases: []string{id},
	})
	check(err)
	sess, err := d.svc.Accounts.Login(d.ctx, "auditor-a", initial, "")
	check(err)
	check(d.svc.Accounts.ChangePassword(d.ctx, sess.Token, initial, "a long passphrase for auditor-a", ""))
	sess, err = d.svc.Accounts.Login(d.ctx, "auditor-a", "a long passphrase for auditor-a", "")
	check(err)
	auditor, err := d.svc.Accounts.Authenticate(d.ctx, sess.Token, "")
	check(err)
	page, err := d.svc.Cases.Search(d.ctx, auditor, nil)
	check(err)
	for _, c := range mine.Cases {
		if _, err := d.svc.Cases.Get(d.ctx, auditor, c.ID); c.ID != id && !errors.Is(err, kerr.NotFound) {
			check(errors.New("the auditor saw a case it was not given"))
		}
	}
	d.say("disclosure: account %s (%s) sees %d case of the owner's %d; the others are not found", acct.LoginID, acct.Label, len(page.Cases), len(mine.Cases))
	oc, err := d.svc.VerifyOriginal(d.ctx, auditor, id)
	check(err)
	d.say("disclosure: the auditor verifies the original: original=%v", oc.Original)
}

// retention reads the retention of completed case id (the company's
// default: kept 15 years), sets it to deletion after 10 and back, and places and lifts a legal hold (訴訟ホールド) that
// keeps the case whatever its dates.
func (d *demo) retention(admin *person, id string) {
	d.say("\n== retention and legal hold")
	r, err := d.svc.Cases.RetentionOf(d.ctx, admin.p, id)
	check(err)
	d.say("retention: kept from %s until %s (%s)", r.Start, r.Until, r.Action)
	r, err = d.svc.Cases.SetRetention(d.ctx, admin.p, id, casework.RetainDelete)
	check(err)
	d.say("retention: set to %s at 10 years: until %s", r.Action, r.Until)
	r, err = d.svc.Cases.SetRetention(d.ctx, admin.p, id, casework.RetainExtend)
	check(err)
	d.say("retention: set to %s again: until %s", r.Action, r.Until)
	check(d.svc.Cases.PlaceHold(d.ctx, admin.p, id, "訴訟対応 / litigation"))
	holds, err := d.svc.Cases.Holds(d.ctx, admin.p, id)
	check(err)
	d.say("hold: placed (%d hold, reason %q): never deleted while it stays", len(holds), holds[0].Reason)
	check(d.svc.Cases.LiftHold(d.ctx, admin.p, id, "和解 / settled"))
	holds, err = d.svc.Cases.Holds(d.ctx, admin.p, id)
	check(err)
	d.say("hold: lifted (%d holds)", len(holds))
}
