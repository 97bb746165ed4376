package signature

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// describeCertificate turns a certificate into the fields a person reads.
func describeCertificate(c *x509.Certificate) *Certificate {
	if c == nil {
		return nil
	}
	d := &Certificate{
		Subject:        c.Subject.String(),
		Organization:   c.Subject.Organization,
		OrgUnit:        c.Subject.OrganizationalUnit,
		CommonName:     c.Subject.CommonName,
		Issuer:         c.Issuer.String(),
		Serial:         strings.ToUpper(c.SerialNumber.Text(16)),
		NotBefore:      c.NotBefore.UTC(),
		NotAfter:       c.NotAfter.UTC(),
		KeyUsage:       keyUsageNames(c.KeyUsage),
		DNSNames:       c.DNSNames,
		EmailAddresses: c.EmailAddresses,
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
