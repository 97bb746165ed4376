package main

import (
	"errors"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// transfer moves completed case id of admin's company to a new colleague
// (完了案件の移動): the administrator gives it, access follows at once.
// Between companies (a merger) the service operator does the same with
// Cases.MoveUserCases.
func (d *demo) transfer(admin *person, id string) {
	d.say("\n== moving a completed case to a colleague")
	_, initial, err := d.svc.Accounts.CreateUser(d.ctx, admin.p, account.NewUser{LoginID: "heir-a", Profile: storage.Profile{Name: "後任 次郎"}})
	check(err)
	sess, err := d.svc.Accounts.Login(d.ctx, "heir-a", initial, "")
	check(err)
	check(d.svc.Accounts.ChangePassword(d.ctx, sess.Token, initial, "a long passphrase for heir-a", ""))
	sess, err = d.svc.Accounts.Login(d.ctx, "heir-a", "a long passphrase for heir-a", "")
	check(err)
	heir, err := d.svc.Accounts.Authenticate(d.ctx, sess.Token, "")
	check(err)
	if _, err := d.svc.Cases.Get(d.ctx, heir, id); !errors.Is(err, kerr.NotFound) {
		check(errors.New("the colleague saw the case before the move"))
	}
	c, err := d.svc.Cases.MoveCase(d.ctx, admin.p, id, admin.p.UserID, heir.UserID)
	check(err)
	d.say("move: %s now belongs to 後任 次郎 (user %s)", c.Name, c.RegistrantUserID)
	oc, err := d.svc.VerifyOriginal(d.ctx, heir, id)
	check(err)
	d.say("move: the new owner verifies the original: original=%v", oc.Original)
}
