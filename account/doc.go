// Package account manages companies, users, credentials and sessions, and
// yields the Principal every casework call acts as.
//
// Passwords are hashed with argon2id (RFC 9106) with explicit parameters; an
// initial password must be changed at first login; repeated failures lock
// the account for a while; sessions expire. Every change is written with an
// audit entry in the same transaction.
package account
