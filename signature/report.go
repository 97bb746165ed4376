package signature

import (
	"time"
)

// Indication is the main status of a validation, as defined in
// ETSI EN 319 102-1 §5.1.2.
type Indication string

const (
	TotalPassed   Indication = "TOTAL_PASSED"
	TotalFailed   Indication = "TOTAL_FAILED"
	Indeterminate Indication = "INDETERMINATE"
)

// SubIndication refines a TOTAL_FAILED or INDETERMINATE indication
// (ETSI EN 319 102-1 §5.1.3). Empty when the indication is TOTAL_PASSED.
type SubIndication string

const (
	FormatFailure                  SubIndication = "FORMAT_FAILURE"
	HashFailure                    SubIndication = "HASH_FAILURE"
	SigCryptoFailure               SubIndication = "SIG_CRYPTO_FAILURE"
	Revoked                        SubIndication = "REVOKED"
	SigConstraintsFailure          SubIndication = "SIG_CONSTRAINTS_FAILURE"
	ChainConstraintsFailure        SubIndication = "CHAIN_CONSTRAINTS_FAILURE"
	CryptoConstraintsFailure       SubIndication = "CRYPTO_CONSTRAINTS_FAILURE"
	ExpiredSub                     SubIndication = "EXPIRED"
	NotYetValid                    SubIndication = "NOT_YET_VALID"
	NoCertificateChainFound        SubIndication = "NO_CERTIFICATE_CHAIN_FOUND"
	NoSigningCertificateFound      SubIndication = "NO_SIGNING_CERTIFICATE_FOUND"
	RevokedNoPOE                   SubIndication = "REVOKED_NO_POE"
	OutOfBoundsNoPOE               SubIndication = "OUT_OF_BOUNDS_NO_POE"
	TryLater                       SubIndication = "TRY_LATER"
	SignedDataNotFound             SubIndication = "SIGNED_DATA_NOT_FOUND"
	CertificateChainGeneralFailure SubIndication = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
)

// Kind tells a signature from a document timestamp.
type Kind string

const (
	KindSignature         Kind = "signature"
	KindDocumentTimestamp Kind = "document_timestamp"
)

// Coverage says which bytes of the file a signature's /ByteRange covers.
type Coverage string

const (
	// CoverageEntireFile: the byte range covers the whole file but the
	// signature value itself.
	CoverageEntireFile Coverage = "entire_file"
	// CoverageEntireRevision: the byte range ends at a revision boundary
	// and later incremental updates follow.
	CoverageEntireRevision Coverage = "entire_revision"
	// CoveragePartial: a contiguous block from the start of the file that
	// does not end at a revision boundary.
	CoveragePartial Coverage = "partial"
	// CoverageInvalid: the byte range is malformed, overlaps, or its gap is
	// not exactly this dictionary's /Contents string.
	CoverageInvalid Coverage = "invalid"
)

// Modification summarises what later revisions changed after a signature.
type Modification string

const (
	ModificationNone       Modification = "none"
	ModificationAllowed    Modification = "allowed"
	ModificationDisallowed Modification = "disallowed"
)

// Level is a PAdES baseline level (ETSI EN 319 142-1 §6).
type Level string

const (
	LevelNone Level = "none"
	LevelBB   Level = "B-B"
	LevelBT   Level = "B-T"
	LevelBLT  Level = "B-LT"
	LevelBLTA Level = "B-LTA"
)

// RevocationStatus is what the revocation check found for the signer.
type RevocationStatus string

const (
	RevocationNotChecked RevocationStatus = "not_checked"
	RevocationGood       RevocationStatus = "good"
	RevocationRevoked    RevocationStatus = "revoked"
	RevocationUnknown    RevocationStatus = "unknown"
)

// Report is the verdict on one PDF. It is a value: Validate returns an error
// only when validation could not run.
type Report struct {
	// Passed is true when the file has at least one signature and every
	// entry in Signatures is TOTAL_PASSED.
	Passed bool
	// Error is set when the file could not be parsed at all; Signatures then
	// holds whatever could be found at byte level.
	Error string
	// Level is the weakest PAdES level of the signatures (document
	// timestamps excluded); LevelNone when there is none.
	Level      Level
	Revisions  int
	Signatures []*SignatureReport
}

// SignatureReport is the verdict on one signature or document timestamp.
type SignatureReport struct {
	Field     string
	Kind      Kind
	SubFilter string
	// Revision is the 1-based revision (incremental update) the signature
	// belongs to; 0 when unknown.
	Revision      int
	Indication    Indication
	SubIndication SubIndication
	CryptoIntact  bool
	Coverage      Coverage
	Modification  Modification
	Level         Level
	Signer        *Certificate
	// Chain is the certificate path found, signer first, anchor last.
	Chain []*Certificate
	// ClaimedSigningTime is the signer's own claim (signing-time attribute
	// or /M); it proves nothing. Zero when absent.
	ClaimedSigningTime time.Time
	// Timestamp is the earliest valid signature timestamp (or, for a
	// document timestamp, its own token); nil when none verified.
	Timestamp  *TimestampInfo
	Revocation RevocationStatus
	// Reasons says in plain words why the verdict is what it is: the
	// problems first found, and notes that did not change it.
	Reasons []string
	// Problems are the reasons that made the indication worse than
	// TOTAL_PASSED; empty when it passed. What a user must act on.
	Problems []string
	// ByteRange as found in the dictionary.
	ByteRange                     []int64
	Reason, Location, ContactInfo string
}

// Certificate is a certificate as a person reads it.
type Certificate struct {
	Subject        string
	Organization   []string
	OrgUnit        []string
	CommonName     string
	Issuer         string
	Serial         string
	NotBefore      time.Time
	NotAfter       time.Time
	KeyUsage       []string
	ExtKeyUsage    []string
	Policies       []string
	DNSNames       []string
	EmailAddresses []string
	URIs           []string
	// SHA256 is the lower-case hex SHA-256 of the certificate's DER, the
	// fingerprint a company registers its signing certificates by.
	SHA256 string
	// SubjectSerialNumber and OrganizationIdentifier are the subject's
	// serialNumber (X.520 2.5.4.5) and organizationIdentifier (2.5.4.97,
	// ETSI EN 319 412-1 §5.1.4) attributes, where Japanese CAs put the
	// 法人番号 (corporate number); empty when absent.
	SubjectSerialNumber    string
	OrganizationIdentifier string
}

// TimestampInfo is a verified RFC 3161 timestamp.
type TimestampInfo struct {
	Time time.Time
	TSA  string
}
