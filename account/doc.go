// Package account manages companies, users, credentials and sessions, and
// yields the Principal every casework call acts as.
//
// Passwords are hashed with argon2id (RFC 9106) with explicit parameters; an
// initial password must be changed at first login; a new password must pass
// CheckPassword (NIST SP 800-63B-4 §3.1.1.2: length, breached and common
// passwords, the user's own words, repetitions and sequences). Password
// guessing is throttled per login ID and address, atomically and with
// growing blocks (see Service.Login and guard.go); every failed login gets
// one and the same answer after the same work. Sessions expire, end on a
// password change (all but the one used), when a user is disabled and when
// an administrator ends them. Every change is written with an audit entry in
// the same transaction; refused logins are summarised, not logged one by one.
package account
