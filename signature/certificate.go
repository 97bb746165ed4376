package signature

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"github.com/keiyaku/keiyaku/internal/fifo"
	"slices"
	"strings"
)

// describeCertificate turns a certificate into the fields a person reads.
// The slices are copies: certificates may be shared between validations
// (cms.ParseShared), and a caller editing its report must not change them.
func describeCertificate(c *x509.Certificate) *Certificate {
	if c == nil {
		return nil
	}
	d := &Certificate{
		Subject:             nameString(c.RawSubject, c.Subject),
		Organization:        slices.Clone(c.Subject.Organization),
		OrgUnit:             slices.Clone(c.Subject.OrganizationalUnit),
		CommonName:          c.Subject.CommonName,
		Issuer:              nameString(c.RawIssuer, c.Issuer),
		Serial:              strings.ToUpper(c.SerialNumber.Text(16)),
		NotBefore:           c.NotBefore.UTC(),
		NotAfter:            c.NotAfter.UTC(),
		KeyUsage:            keyUsageNames(c.KeyUsage),
		DNSNames:            slices.Clone(c.DNSNames),
		EmailAddresses:      slices.Clone(c.EmailAddresses),
		SHA256:              certSHA256(c),
		SubjectSerialNumber: c.Subject.SerialNumber,
	}
	for _, atv := range c.Subject.Names {
		if s, ok := atv.Value.(string); ok && atv.Type.Equal(oidOrganizationIdentifier) {
			d.OrganizationIdentifier = s
		}
	}
	for _, u := range c.URIs {
		d.URIs = append(d.URIs, u.String())
	}
	for _, e := range c.ExtKeyUsage {
		d.ExtKeyUsage = append(d.ExtKeyUsage, extKeyUsageName(e))
	}
	for _, p := range c.Policies {
		d.Policies = append(d.Policies, p.String())
	}
	return d
}

// oidOrganizationIdentifier is X.520 organizationIdentifier (2.5.4.97).
var oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}

// certSHA256 returns the hex SHA-256 of c's DER; empty for a certificate
// built by hand without Raw.
func certSHA256(c *x509.Certificate) string {
	if len(c.Raw) == 0 {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// maxCachedNames bounds nameStrings; past it the oldest entries go.
const maxCachedNames = 4096

// nameStrings remembers the RFC 2253 form of distinguished names by their
// DER, for every validation of the process: pkix.Name.String was a tenth
// of the time of validating a contract, and the same few names (signers,
// their CAs, the TSA) recur in every one.
var nameStrings = fifo.New[string, string](maxCachedNames)

// nameString returns n.String(), from the cache when raw (the DER n was
// parsed from) has been seen. A certificate built by hand has no raw name
// and is not cached.
func nameString(raw []byte, n pkix.Name) string {
	if len(raw) == 0 {
		return n.String()
	}
	if s, ok := nameStrings.Get(string(raw)); ok {
		return s
	}
	return nameStrings.Add(string(raw), n.String())
}

var keyUsageBits = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "nonRepudiation"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

func keyUsageNames(ku x509.KeyUsage) []string {
	var names []string
	for _, b := range keyUsageBits {
		if ku&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	return names
}

func extKeyUsageName(e x509.ExtKeyUsage) string {
	switch e {
	case x509.ExtKeyUsageAny:
		return "any"
	case x509.ExtKeyUsageServerAuth:
		return "serverAuth"
	case x509.ExtKeyUsageClientAuth:
		return "clientAuth"
	case x509.ExtKeyUsageCodeSigning:
		return "codeSigning"
	case x509.ExtKeyUsageEmailProtection:
		return "emailProtection"
	case x509.ExtKeyUsageTimeStamping:
		return "timeStamping"
	case x509.ExtKeyUsageOCSPSigning:
		return "OCSPSigning"
	default:
		return fmt.Sprintf("eku(%d)", int(e))
	}
}
