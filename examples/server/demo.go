package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"

	keiyaku "github.com/keiyaku/keiyaku"
	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// demoCA is the demo certificate authority: its root is trusted by the
// server, it issues each demo user's signing certificate, and its CRL
// (empty, valid for a year) gives sealing the revocation data PAdES
// B-LTA needs. For demonstrations only: its key lies in DIR/demo.
type demoCA struct {
	dir  string
	key  crypto.Signer
	root *x509.Certificate
	crl  []byte
}

// loadDemoCA reads the demo CA from dir, making it on first use.
func loadDemoCA(dir string) (*demoCA, error) {
	ca := &demoCA{dir: dir}
	keyPath, certPath := filepath.Join(dir, "ca-key.pem"), filepath.Join(dir, "ca-cert.pem")
	if exists(certPath) {
		var err error
		if ca.key, err = pemfile.PrivateKey(keyPath); err != nil {
			return nil, kerr.WrapKind(kerr.Invalid, "server.demo", keyPath, err)
		}
		certs, err := pemfile.Certificates(certPath)
		if err != nil {
			return nil, kerr.WrapKind(kerr.Invalid, "server.demo", certPath, err)
		}
		ca.root = certs[0]
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, "server.demo", dir, err)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		tmpl := &x509.Certificate{
			SerialNumber: serial(), Subject: pkix.Name{CommonName: "keiyaku demo CA", Organization: []string{"keiyaku demo"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, err
		}
		if ca.root, err = x509.ParseCertificate(der); err != nil {
			return nil, err
		}
		ca.key = key
		if err := writeKey(keyPath, key); err != nil {
			return nil, err
		}
		if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(now.Unix()), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.AddDate(1, 0, 0),
	}, ca.root, ca.key)
	if err != nil {
		return nil, kerr.WrapKind(kerr.Internal, "server.demo", "demo CRL", err)
	}
	ca.crl = crl
	return ca, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// issue makes a signing certificate for name and writes the key and
// certificate to DIR/demo/<login>-key.pem and -cert.pem.
func (ca *demoCA) issue(login, name, org string) (keyPath, certPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name, Organization: []string{org}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		CRLDistributionPoints: nil,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, &key.PublicKey, ca.key)
	if err != nil {
		return "", "", err
	}
	keyPath, certPath = filepath.Join(ca.dir, login+"-key.pem"), filepath.Join(ca.dir, login+"-cert.pem")
	if err := writeKey(keyPath, key); err != nil {
		return "", "", err
	}
	return keyPath, certPath, writePEM(certPath, "CERTIFICATE", der)
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der)
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// missing reports whether no user has loginID.
func missing(ctx context.Context, svc *keiyaku.Service, loginID string) (bool, error) {
	_, err := svc.Store.GetUserByLogin(ctx, loginID)
	if errors.Is(err, kerr.NotFound) {
		return true, nil
	}
	return false, err
}

// firstStart creates, when the store has no user "operator" yet (an
// empty data directory or database), the service operator and prints its
// initial password; with demo, it also creates two companies with a user
// each whose password is set and printed, so they log in at once. What
// exists already is left alone (a data directory from before the
// operator keeps its company administrator "admin" and gains the
// operator).
func firstStart(ctx context.Context, svc *keiyaku.Service, out io.Writer, demo bool, ca *demoCA) error {
	if ok, err := missing(ctx, svc, "operator"); err != nil {
		return err
	} else if ok {
		_, initial, err := svc.Accounts.CreateOperator(ctx, account.NewUser{
			LoginID: "operator", Profile: storage.Profile{Name: "Service operator", Email: "operator@localhost", Language: "ja"},
		}, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "operator: login operator, initial password %s (change it at the first login: PUT /v1/me/password)\n", initial)
	}
	if !demo {
		return nil
	}
	for _, d := range []struct{ login, company, name, lang string }{
		{"demo-a", "株式会社デモ商事", "山田 太郎", "ja"},
		{"demo-b", "Demo Trading Ltd.", "Betty Brown", "en"},
	} {
		if ok, err := missing(ctx, svc, d.login); err != nil {
			return err
		} else if !ok {
			// A data directory from before signer registration (issue 9)
			// gets its demo CA rule now.
			if err := registerDemoSigners(ctx, svc, d.login, d.company, ca); err != nil {
				return err
			}
			continue
		}
		co, u, initial, err := svc.Accounts.CreateCompany(ctx, d.company, account.NewUser{
			LoginID: d.login, Profile: storage.Profile{Name: d.name, Email: d.login + "@localhost", Language: d.lang},
		}, "")
		if err != nil {
			return err
		}
		sess, err := svc.Accounts.Login(ctx, d.login, initial, "")
		if err != nil {
			return err
		}
		pw := base64.RawURLEncoding.EncodeToString(randomBytes(12))
		if err := svc.Accounts.ChangePassword(ctx, sess.Token, initial, pw, ""); err != nil {
			return err
		}
		_ = svc.Accounts.Logout(ctx, sess.Token, "")
		keyPath, certPath, err := ca.issue(d.login, d.name, d.company)
		if err != nil {
			return kerr.WrapKind(kerr.Internal, "server.demo", "issuing the demo certificate of "+d.login, err)
		}
		if err := registerDemoSigners(ctx, svc, d.login, d.company, ca); err != nil {
			return err
		}
		fmt.Fprintf(out, "demo user: login %s, password %s, company %s (company_id %s, user_id %s), signing key %s, certificate %s\n",
			d.login, pw, d.company, co.ID, u.ID, keyPath, certPath)
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// registerDemoSigners registers, as the administrator login of company,
// every certificate the demo CA issues with the company's name as
// organization (account.Service.RegisterSignerIssuer): only signatures
// from certificates registered to the uploading company count (issue 9).
// A rule registered already is left alone.
func registerDemoSigners(ctx context.Context, svc *keiyaku.Service, login, company string, ca *demoCA) error {
	u, err := svc.Store.GetUserByLogin(ctx, login)
	if err != nil {
		return err
	}
	admin := account.Principal{UserID: u.ID, CompanyID: u.CompanyID, Admin: u.Admin}
	if _, err := svc.Accounts.RegisterSignerIssuer(ctx, admin, ca.root, company, ""); err != nil && !errors.Is(err, kerr.Conflict) {
		return kerr.WrapKind(kerr.Of(err), "server.demo", "registering the demo CA as the signer issuer of "+company, err)
	}
	return nil
}
