// Package ers reads, writes, builds, renews and verifies RFC 4998 Evidence
// Records: the long-term proof that a data object existed at a time,
// carried by RFC 3161 timestamps over hash trees and kept alive by
// renewing them.
//
// # Structure (RFC 4998 §4–§5)
//
// An EvidenceRecord holds an ArchiveTimeStampSequence of
// ArchiveTimeStampChains, each a sequence of ArchiveTimeStamps. An
// ArchiveTimeStamp is a timestamp token over the root of a hash tree and
// the reduced hash tree (a list of PartialHashtrees) that leads from the
// data object's hash to that root. The DER is written and read here with
// cryptobyte (encoding/asn1 cannot express the IMPLICIT optional fields of
// RFC 4998's ASN.1 module); parsing accepts DER only, because renewal
// hashes the encoding of earlier chains and a non-canonical encoding
// would give another hash.
//
// # Hash trees (RFC 4998 §4.2, §4.3)
//
// BuildTree makes a binary Merkle tree over many leaves so that one
// timestamp seals them all (batch sealing). Two nodes are combined by
// hashing their values concatenated in binary ascending order; a node
// without a sibling moves up unchanged. A leaf's reduced hash tree is its
// first list (its own value and its sibling) followed by one list with the
// single sibling of each higher level. A list of several values is hashed
// as their sorted concatenation. These are the rules of RFC 4998 §4.3 and
// the ones Bouncy Castle's org.bouncycastle.tsp.ers checks, so records
// made here verify there (the tests prove it with Bouncy Castle 1.72).
//
// # Renewal (RFC 4998 §5)
//
// Timestamp renewal (§5.2) adds an ArchiveTimeStamp to the last chain
// whose tree covers the hash of the timeStamp field of every earlier
// ArchiveTimeStamp of that chain (the newest is what §5.2 requires;
// covering all of them is what Bouncy Castle checks as well). Hash-tree
// renewal (§5.3) starts a new chain with a stronger hash algorithm H: its
// leaf for a data object d is H(H(d) ‖ H(S)), where S is the DER of the
// ArchiveTimeStampSequence before the new chain. Both can be batched over
// many records with BuildTree; the Renew* helpers return the leaf value,
// Add* append the stamped result.
//
// # Verification
//
// Verify checks every ArchiveTimeStamp: its token (RFC 3161 signature,
// ESS certificate binding, TSA key usage; timestamp.Verify), that its
// reduced hash tree leads from what it must cover to the token's
// imprint, that each TSA chain was valid when the next timestamp covered
// it and the newest is valid at the time of verification. The data
// object's hash under every algorithm of the record is the caller's
// (HashData computes them in one pass).
//
// # Limits
//
// A record is at most MaxRecordSize bytes, with at most MaxChains chains,
// MaxStamps ArchiveTimeStamps per chain, MaxTreeDepth PartialHashtrees per
// reduced hash tree and MaxListHashes values per PartialHashtree. Hash
// algorithms: SHA-256, SHA-384, SHA-512, SHA3-256, SHA3-384, SHA3-512.
// encryptionInfo and ArchiveTimeStamp attributes are kept as read and
// written back unchanged; encrypted records (encryptionInfo) are not
// verified.
//
// # Validation data (RFC 4998 §2, §5.2)
//
// AddValidationData keeps, in cryptoInfos, what verifying the older
// timestamps needs once their TSAs and CAs are gone: certificates
// (id-aa-ets-certValues) and CRLs and OCSP responses
// (id-aa-ets-revocationValues, RFC 5126 §6.3.3–§6.3.4); ValidationData
// reads them back. Attributes of other types are kept. cryptoInfos is not
// covered by the record's hashes; the data in it is signed and proves
// itself.
package ers
