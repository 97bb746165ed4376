package signature

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/keiyaku/keiyaku/internal/fifo"
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

// nameString returns readableName(raw, n), from the cache when raw (the
// DER n was parsed from) has been seen. A certificate built by hand has no
// raw name and is not cached.
func nameString(raw []byte, n pkix.Name) string {
	if len(raw) == 0 {
		return readableName(nil, n)
	}
	if s, ok := nameStrings.Get(string(raw)); ok {
		return s
	}
	return nameStrings.Add(string(raw), readableName(raw, n))
}

// attributeNames are the short names of RFC 4514 §3 and the names
// OpenSSL prints for the attributes a signer's or CA's name carries (RFC
// 5280 Appendix A, X.520, ETSI EN 319 412-1 §5.1.4), so that a report
// reads "emailAddress=..." rather than pkix.Name.String's
// "1.2.840.113549.1.9.1=#16...".
var attributeNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C",
	"2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.12": "title", "2.5.4.13": "description",
	"2.5.4.15": "businessCategory", "2.5.4.17": "postalCode", "2.5.4.41": "name",
	"2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier",
	"2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.3.6.1.4.1.311.60.2.1.1":   "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2":   "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3":   "jurisdictionC",
}

// readableName formats a distinguished name the way RFC 4514 does (last
// RDN first, "+" within a multi-valued RDN, special characters escaped),
// with readable attribute names for the attributes in attributeNames; an
// attribute not listed keeps its dotted OID, and a value that is not a
// string its "#" and hex DER, as RFC 4514 §2.4 says. raw, when not nil, is
// the DER the name was parsed from, which keeps the RDN grouping.
func readableName(raw []byte, n pkix.Name) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); raw == nil || err != nil || len(rest) != 0 {
		seq = n.ToRDNSequence()
	}
	var sb strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i != len(seq)-1 {
			sb.WriteByte(',')
		}
		for j, atv := range seq[i] {
			if j > 0 {
				sb.WriteByte('+')
			}
			name, ok := attributeNames[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			sb.WriteString(name)
			sb.WriteByte('=')
			if s, ok := atv.Value.(string); ok {
				sb.WriteString(escapeDNValue(s))
			} else if der, err := asn1.Marshal(atv.Value); err == nil {
				sb.WriteString("#" + hex.EncodeToString(der))
			}
		}
	}
	return sb.String()
}

// escapeDNValue escapes a string value as RFC 4514 §2.4 requires.
func escapeDNValue(s string) string {
	var sb strings.Builder
	for i, r := range s {
		switch {
		case r == ',' || r == '+' || r == '"' || r == '\\' || r == '<' || r == '>' || r == ';',
			i == 0 && (r == ' ' || r == '#'),
			i == len(s)-1 && r == ' ':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == 0:
			sb.WriteString("\\00")
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
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
