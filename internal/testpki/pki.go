package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Now is the fixed "current time" of the test PKI. Every certificate is
// valid at Now except Expired; the responders answer as of Now unless
// SetNow moves their clock.
var Now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Validity periods, stated once so tests can reason about them.
var (
	RootNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	RootNotAfter  = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	IntNotBefore  = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	IntNotAfter   = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	// Signer leaves (all but Expired).
	LeafNotBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	LeafNotAfter  = time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	// Expired leaf: valid in 2023–2024 only.
	ExpiredNotBefore = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	ExpiredNotAfter  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// TSA expires before TSA2, so timestamp renewal can be tested.
	TSANotBefore  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	TSANotAfter   = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	TSA2NotBefore = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	TSA2NotAfter  = time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	// RevokedAt is when the Revoked leaf was revoked (keyCompromise).
	RevokedAt = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
)

// OCSPValidity is the span between thisUpdate and nextUpdate of every OCSP
// response; CRLValidity the same for CRLs.
const (
	OCSPValidity = 24 * time.Hour
	CRLValidity  = 7 * 24 * time.Hour
)

// PolicyOID is the certificate policy every signer leaf carries. It sits
// under the IANA enterprise number reserved for documentation (RFC 5612).
var PolicyOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 1}

var (
	oidExtKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidKPTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidOCSPNoCheck    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
	// OIDDocumentSigning is id-kp-documentSigning (RFC 9336).
	OIDDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
)

// Cert is a certificate with its private key. Name is a short label that
// also serves as the NSS nickname and PKCS#12 friendly name.
type Cert struct {
	Name string
	Key  crypto.Signer
	Cert *x509.Certificate
}

// PKI is one instance of the test PKI with its own HTTP responders. All
// fields are set by New and must not be changed.
type PKI struct {
	Root         *Cert // self-signed, ECDSA P-384
	Intermediate *Cert // issued by Root, ECDSA P-256; issues everything below

	RSA       *Cert // RSA-2048, fine for PKCS#1 v1.5 and PSS signatures
	ECDSAP256 *Cert
	ECDSAP384 *Cert
	Ed25519   *Cert
	WeakRSA   *Cert // RSA-1024: too weak by any current policy
	// NoSigningUsage has keyUsage keyEncipherment only: no
	// digitalSignature, no nonRepudiation.
	NoSigningUsage *Cert
	Expired        *Cert // valid ExpiredNotBefore..ExpiredNotAfter
	Revoked        *Cert // revoked at RevokedAt, in OCSP and CRL
	// Unknown is issued by Intermediate but unknown to the OCSP responder
	// (status "unknown"); the CRL does not list it.
	Unknown *Cert

	// TSA and TSA2 are timestamping units (critical EKU timeStamping)
	// with different expiry dates.
	TSA  *Cert
	TSA2 *Cert

	// OCSPSigner is the delegated responder (EKU OCSPSigning, with
	// id-pkix-ocsp-nocheck) that signs responses about Intermediate's
	// certificates. Responses about Intermediate itself are signed by
	// Root directly.
	OCSPSigner *Cert

	// URLs served by this PKI.
	BaseURL                 string
	OCSPURL                 string // AIA id-ad-ocsp of every certificate but Root
	CRLURL                  string // CRL of Intermediate: CRL DP of the leaves
	RootCRLURL              string // CRL of Root: CRL DP of Intermediate
	RootCertURL, IntCertURL string

	srv      *httptest.Server
	mu       sync.Mutex
	now      time.Time
	statuses map[string]status // serial (decimal) -> status, leaves and Intermediate
	counts   map[string]int
}

// keys generated once per process.
type keySet struct {
	root, intermediate, p256, p384, rsa2048, rsa1024, noKU, expired, revoked, unknown, tsa, tsa2, ocsp crypto.Signer
	ed                                                                                                 ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	keys     keySet
	keysErr  error
)

func loadKeys() (*keySet, error) {
	keysOnce.Do(func() {
		ec := func(c elliptic.Curve) crypto.Signer {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				keysErr = err
			}
			return k
		}
		keys.root = ec(elliptic.P384())
		keys.intermediate = ec(elliptic.P256())
		keys.p256 = ec(elliptic.P256())
		keys.p384 = ec(elliptic.P384())
		keys.noKU = ec(elliptic.P256())
		keys.expired = ec(elliptic.P256())
		keys.revoked = ec(elliptic.P256())
		keys.unknown = ec(elliptic.P256())
		keys.tsa = ec(elliptic.P256())
		keys.tsa2 = ec(elliptic.P384())
		keys.ocsp = ec(elliptic.P256())
		var err error
		if keys.rsa2048, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			keysErr = err
			return
		}
		// crypto/rsa refuses keys under 1024 bits but still makes 1024.
		if keys.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			keysErr = err
			return
		}
		if _, keys.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			keysErr = err
		}
	})
	return &keys, keysErr
}

type status struct {
	revoked   bool
	revokedAt time.Time
	reason    int
}

// New builds a PKI and starts its responders; they stop when tb's test
// ends. It calls tb.Fatal if anything fails.
func New(tb testing.TB) *PKI {
	tb.Helper()
	p := &PKI{now: Now, statuses: map[string]status{}, counts: map[string]int{}}
	p.srv = httptest.NewServer(p.handler())
	tb.Cleanup(p.srv.Close)
	if err := p.build(p.srv.URL); err != nil {
		tb.Fatalf("testpki: %v", err)
	}
	return p
}

// Revoke makes the OCSP responder answer that c was revoked at at
// (keyCompromise). The CRL endpoints do not change.
func (p *PKI) Revoke(c *Cert, at time.Time) {
	p.mu.Lock()
	p.statuses[c.Cert.SerialNumber.String()] = status{revoked: true, revokedAt: at, reason: 1}
	p.mu.Unlock()
}

// SetNow moves the clock the OCSP responder and CRL endpoint answer with.
func (p *PKI) SetNow(t time.Time) {
	p.mu.Lock()
	p.now = t
	p.mu.Unlock()
}

func (p *PKI) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now
}

// Requests reports how many requests the endpoint at path ("/ocsp",
// "/int.crl", "/root.crl", ...) has served; for cache tests.
func (p *PKI) Requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[path]
}

// Chain returns c's certificate followed by Intermediate and Root.
func (p *PKI) Chain(c *Cert) []*x509.Certificate {
	return []*x509.Certificate{c.Cert, p.Intermediate.Cert, p.Root.Cert}
}

// Roots returns a pool holding only Root.
func (p *PKI) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root.Cert)
	return pool
}

// Signers returns the leaves meant to make valid signatures, one per key
// type: RSA, ECDSAP256, ECDSAP384, Ed25519.
func (p *PKI) Signers() []*Cert {
	return []*Cert{p.RSA, p.ECDSAP256, p.ECDSAP384, p.Ed25519}
}

type spec struct {
	name      string
	serial    int64
	subject   pkix.Name
	key       crypto.Signer
	notBefore time.Time
	notAfter  time.Time
	ku        x509.KeyUsage
	eku       []x509.ExtKeyUsage
	unknown   []asn1.ObjectIdentifier
	extra     []pkix.Extension
	ca        bool
	leaf      bool // signer: SANs + policy
}

func jpName(o, ou, cn string) pkix.Name {
	return pkix.Name{Country: []string{"JP"}, Organization: []string{o}, OrganizationalUnit: []string{ou}, CommonName: cn}
}

func (p *PKI) build(base string) error {
	k, err := loadKeys()
	if err != nil {
		return fmt.Errorf("generate keys: %w", err)
	}
	p.BaseURL = base
	p.OCSPURL = base + "/ocsp"
	p.CRLURL = base + "/int.crl"
	p.RootCRLURL = base + "/root.crl"
	p.RootCertURL = base + "/root.cer"
	p.IntCertURL = base + "/int.cer"

	root, err := p.issue(nil, spec{
		name: "root", serial: 1, key: k.root,
		subject:   jpName("株式会社テスト認証局", "Root CA", "keiyaku Test Root CA ルート認証局"),
		notBefore: RootNotBefore, notAfter: RootNotAfter,
		ku: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, ca: true,
	})
	if err != nil {
		return err
	}
	p.Root = root
	inter, err := p.issue(root, spec{
		name: "intermediate", serial: 2, key: k.intermediate,
		subject:   jpName("株式会社テスト認証局", "Issuing CA", "keiyaku Test Issuing CA 中間認証局"),
		notBefore: IntNotBefore, notAfter: IntNotAfter,
		ku: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, ca: true,
	})
	if err != nil {
		return err
	}
	p.Intermediate = inter
	p.statuses[inter.Cert.SerialNumber.String()] = status{}

	sigKU := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	sigEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	docSign := []asn1.ObjectIdentifier{OIDDocumentSigning}
	leaves := []struct {
		dst *(*Cert)
		s   spec
	}{
		{&p.RSA, spec{name: "rsa", key: k.rsa2048, subject: jpName("株式会社テスト", "法務部 Legal", "山田 太郎 Taro Yamada (RSA)")}},
		{&p.ECDSAP256, spec{name: "p256", key: k.p256, subject: jpName("株式会社テスト", "営業部 Sales", "佐藤 花子 Hanako Sato (P-256)")}},
		{&p.ECDSAP384, spec{name: "p384", key: k.p384, subject: jpName("Example Trading Co., Ltd.", "Procurement", "Jiro Suzuki (P-384)")}},
		{&p.Ed25519, spec{name: "ed25519", key: k.ed, subject: jpName("株式会社テスト", "総務部", "高橋 一郎 (Ed25519)")}},
		{&p.WeakRSA, spec{name: "weak-rsa", key: k.rsa1024, subject: jpName("株式会社テスト", "Legacy", "Weak RSA-1024")}},
		{&p.NoSigningUsage, spec{name: "no-signing-usage", key: k.noKU, ku: x509.KeyUsageKeyEncipherment, subject: jpName("株式会社テスト", "Encryption", "No Signing Usage")}},
		{&p.Expired, spec{name: "expired", key: k.expired, notBefore: ExpiredNotBefore, notAfter: ExpiredNotAfter, subject: jpName("株式会社テスト", "法務部 Legal", "Expired 期限切れ")}},
		{&p.Revoked, spec{name: "revoked", key: k.revoked, subject: jpName("株式会社テスト", "法務部 Legal", "Revoked 失効")}},
		{&p.Unknown, spec{name: "unknown", key: k.unknown, subject: jpName("株式会社テスト", "法務部 Legal", "Unknown to OCSP")}},
	}
	serial := int64(100)
	for _, l := range leaves {
		s := l.s
		serial++
		s.serial = serial
		if s.ku == 0 {
			s.ku = sigKU
		}
		if s.notBefore.IsZero() {
			s.notBefore, s.notAfter = LeafNotBefore, LeafNotAfter
		}
		s.eku, s.unknown, s.leaf = sigEKU, docSign, true
		c, err := p.issue(inter, s)
		if err != nil {
			return err
		}
		*l.dst = c
		switch c {
		case p.Unknown:
		case p.Revoked:
			p.statuses[c.Cert.SerialNumber.String()] = status{revoked: true, revokedAt: RevokedAt, reason: 1} // keyCompromise
		default:
			p.statuses[c.Cert.SerialNumber.String()] = status{}
		}
	}

	// RFC 3161 §2.3: the TSA certificate has exactly one, critical,
	// extended key usage: id-kp-timeStamping. crypto/x509 always writes
	// EKU non-critical, so the extension is supplied by hand.
	ekuTS, err := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamping})
	if err != nil {
		return err
	}
	tsaExt := []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: ekuTS}}
	for _, t := range []struct {
		dst      *(*Cert)
		name, cn string
		key      crypto.Signer
		nb, na   time.Time
		serial   int64
	}{
		{&p.TSA, "tsa", "keiyaku Test TSA タイムスタンプ局 1", k.tsa, TSANotBefore, TSANotAfter, 201},
		{&p.TSA2, "tsa2", "keiyaku Test TSA タイムスタンプ局 2", k.tsa2, TSA2NotBefore, TSA2NotAfter, 202},
	} {
		c, err := p.issue(inter, spec{
			name: t.name, serial: t.serial, key: t.key,
			subject:   jpName("株式会社テスト時刻認証", "TSA", t.cn),
			notBefore: t.nb, notAfter: t.na,
			ku: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, extra: tsaExt,
		})
		if err != nil {
			return err
		}
		*t.dst = c
		p.statuses[c.Cert.SerialNumber.String()] = status{}
	}

	ocspSigner, err := p.issue(inter, spec{
		name: "ocsp", serial: 301, key: k.ocsp,
		subject:   jpName("株式会社テスト認証局", "OCSP", "keiyaku Test OCSP Responder"),
		notBefore: LeafNotBefore, notAfter: IntNotAfter,
		ku: x509.KeyUsageDigitalSignature, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		// RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck, value NULL.
		extra: []pkix.Extension{{Id: oidOCSPNoCheck, Value: asn1.NullBytes}},
	})
	if err != nil {
		return err
	}
	p.OCSPSigner = ocspSigner
	p.statuses[ocspSigner.Cert.SerialNumber.String()] = status{}
	return nil
}

// issue signs a certificate for s with issuer (nil: self-signed).
func (p *PKI) issue(issuer *Cert, s spec) (*Cert, error) {
	pubDER, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	var spki struct {
		Algo      pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(pubDER, &spki); err != nil {
		return nil, err
	}
	ski := sha1.Sum(spki.PublicKey.Bytes) // RFC 5280 §4.2.1.2 method (1)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(s.serial),
		Subject:               s.subject,
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		KeyUsage:              s.ku,
		ExtKeyUsage:           s.eku,
		UnknownExtKeyUsage:    s.unknown,
		ExtraExtensions:       s.extra,
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
		SubjectKeyId:          ski[:],
	}
	if s.ca && issuer != nil {
		tmpl.MaxPathLenZero = true
	}
	signerKey, parent := s.key, tmpl
	if issuer != nil {
		signerKey, parent = issuer.Key, issuer.Cert
		tmpl.OCSPServer = []string{p.OCSPURL}
		if issuer == p.Root {
			tmpl.CRLDistributionPoints = []string{p.RootCRLURL}
			tmpl.IssuingCertificateURL = []string{p.RootCertURL}
		} else {
			tmpl.CRLDistributionPoints = []string{p.CRLURL}
			tmpl.IssuingCertificateURL = []string{p.IntCertURL}
		}
	}
	if s.leaf {
		tmpl.PolicyIdentifiers = []asn1.ObjectIdentifier{PolicyOID}
		// crypto/x509 writes Policies (x509usepolicies=1 since Go 1.24).
		oid, err := x509.OIDFromInts([]uint64{1, 3, 6, 1, 4, 1, 32473, 1, 1})
		if err != nil {
			return nil, err
		}
		tmpl.Policies = []x509.OID{oid}
		tmpl.EmailAddresses = []string{s.name + "@example.jp"}
		tmpl.DNSNames = []string{s.name + ".example.jp"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, s.key.Public(), signerKey)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", s.name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Cert{Name: s.name, Key: s.key, Cert: cert}, nil
}
