package ers

import (
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/kerr"
)

// Limits of a record (see the package documentation).
const (
	// MaxRecordSize is the largest DER EvidenceRecord Parse reads: 64
	// chains of renewals with their tokens fit many times over.
	MaxRecordSize = 4 << 20
	// MaxChains is the most ArchiveTimeStampChains (hash-tree renewals
	// plus one).
	MaxChains = 64
	// MaxStamps is the most ArchiveTimeStamps in one chain (timestamp
	// renewals plus one).
	MaxStamps = 64
	// MaxTreeDepth is the most PartialHashtrees in a reduced hash tree: a
	// binary tree over 2^63 leaves.
	MaxTreeDepth = 64
	// MaxListHashes is the most hash values in one PartialHashtree: a
	// timestamp renewal's first list holds one per earlier timestamp of
	// the chain, plus a sibling.
	MaxListHashes = MaxStamps + 1
)

// ErrMalformed is wrapped (with kind kerr.Invalid) by every error about a
// record that does not parse or is not RFC 4998 DER.
var ErrMalformed = errors.New("ers: malformed evidence record")

// EvidenceRecord is an RFC 4998 §3 EvidenceRecord:
//
//	EvidenceRecord ::= SEQUENCE {
//	  version                   INTEGER { v1(1) } ,
//	  digestAlgorithms          SEQUENCE OF AlgorithmIdentifier,
//	  cryptoInfos               [0] CryptoInfos OPTIONAL,
//	  encryptionInfo            [1] EncryptionInfo OPTIONAL,
//	  archiveTimeStampSequence  ArchiveTimeStampSequence }
//
//	ArchiveTimeStampSequence ::= SEQUENCE OF ArchiveTimeStampChain
//	ArchiveTimeStampChain    ::= SEQUENCE OF ArchiveTimeStamp
type EvidenceRecord struct {
	// DigestAlgorithms are every hash algorithm the record uses, in the
	// order they were first used.
	DigestAlgorithms []crypto.Hash
	// CryptoInfos and EncryptionInfo are the DER of the optional [0] and
	// [1] fields, tag included, as read; nil when absent.
	CryptoInfos, EncryptionInfo []byte
	// Chains is the ArchiveTimeStampSequence, oldest chain first; each
	// chain's ArchiveTimeStamps oldest first.
	Chains [][]*ArchiveTimeStamp
}

// ArchiveTimeStamp is RFC 4998 §4.1's
//
//	ArchiveTimeStamp ::= SEQUENCE {
//	  digestAlgorithm [0] AlgorithmIdentifier OPTIONAL,
//	  attributes      [1] Attributes OPTIONAL,
//	  reducedHashtree [2] SEQUENCE OF PartialHashtree OPTIONAL,
//	  timeStamp       ContentInfo }
//
//	PartialHashtree ::= SEQUENCE OF OCTET STRING
//
// with IMPLICIT tags (the module's default).
type ArchiveTimeStamp struct {
	// Hash is digestAlgorithm; 0 when absent, when the token's imprint
	// algorithm applies (RFC 4998 §4.1).
	Hash crypto.Hash
	// Attributes is the DER of the [1] field, tag included; nil when
	// absent.
	Attributes []byte
	// ReducedHashTree lists the PartialHashtrees, each a list of hash
	// values; nil when absent (the token stamps the covered hash itself).
	ReducedHashTree [][][]byte
	// TimeStamp is the DER of the RFC 3161 TimeStampToken (a CMS
	// ContentInfo).
	TimeStamp []byte
}

func malformed(op, format string, args ...any) error {
	return kerr.WrapKind(kerr.Invalid, op, "", fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...)))
}

// Parse reads a DER EvidenceRecord. Errors have kind kerr.Invalid and wrap
// ErrMalformed: bad DER, a version other than 1, an unsupported hash
// algorithm, an empty sequence or chain, or a limit exceeded.
func Parse(der []byte) (*EvidenceRecord, error) {
	const op = "ers.Parse"
	if len(der) > MaxRecordSize {
		return nil, malformed(op, "%d bytes, more than %d", len(der), MaxRecordSize)
	}
	in := cryptobyte.String(der)
	var rec cryptobyte.String
	if !in.ReadASN1(&rec, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, malformed(op, "not one DER SEQUENCE")
	}
	var version int64
	if !rec.ReadASN1Integer(&version) || version != 1 {
		return nil, malformed(op, "version must be INTEGER 1")
	}
	er := &EvidenceRecord{}
	var algs cryptobyte.String
	if !rec.ReadASN1(&algs, cbasn1.SEQUENCE) {
		return nil, malformed(op, "digestAlgorithms")
	}
	for !algs.Empty() {
		h, err := readAlgorithm(&algs, cbasn1.SEQUENCE)
		if err != nil {
			return nil, malformed(op, "digestAlgorithms: %v", err)
		}
		if len(er.DigestAlgorithms) >= MaxChains {
			return nil, malformed(op, "more than %d digest algorithms", MaxChains)
		}
		er.DigestAlgorithms = append(er.DigestAlgorithms, h)
	}
	tag0 := cbasn1.Tag(0).Constructed().ContextSpecific()
	tag1 := cbasn1.Tag(1).Constructed().ContextSpecific()
	if rec.PeekASN1Tag(tag0) {
		var el cryptobyte.String
		if !rec.ReadASN1Element(&el, tag0) {
			return nil, malformed(op, "cryptoInfos")
		}
		er.CryptoInfos = append([]byte(nil), el...)
	}
	if rec.PeekASN1Tag(tag1) {
		var el cryptobyte.String
		if !rec.ReadASN1Element(&el, tag1) {
			return nil, malformed(op, "encryptionInfo")
		}
		er.EncryptionInfo = append([]byte(nil), el...)
	}
	var seq cryptobyte.String
	if !rec.ReadASN1(&seq, cbasn1.SEQUENCE) || !rec.Empty() {
		return nil, malformed(op, "archiveTimeStampSequence")
	}
	for !seq.Empty() {
		if len(er.Chains) >= MaxChains {
			return nil, malformed(op, "more than %d chains", MaxChains)
		}
		var chain cryptobyte.String
		if !seq.ReadASN1(&chain, cbasn1.SEQUENCE) {
			return nil, malformed(op, "chain %d", len(er.Chains))
		}
		var stamps []*ArchiveTimeStamp
		for !chain.Empty() {
			if len(stamps) >= MaxStamps {
				return nil, malformed(op, "chain %d has more than %d archive timestamps", len(er.Chains), MaxStamps)
			}
			ats, err := readATS(&chain)
			if err != nil {
				return nil, malformed(op, "chain %d, archive timestamp %d: %v", len(er.Chains), len(stamps), err)
			}
			stamps = append(stamps, ats)
		}
		if len(stamps) == 0 {
			return nil, malformed(op, "chain %d is empty", len(er.Chains))
		}
		er.Chains = append(er.Chains, stamps)
	}
	if len(er.Chains) == 0 {
		return nil, malformed(op, "no archive timestamp")
	}
	return er, nil
}

func readATS(s *cryptobyte.String) (*ArchiveTimeStamp, error) {
	var body cryptobyte.String
	if !s.ReadASN1(&body, cbasn1.SEQUENCE) {
		return nil, errors.New("not a SEQUENCE")
	}
	ats := &ArchiveTimeStamp{}
	tag0 := cbasn1.Tag(0).Constructed().ContextSpecific()
	tag1 := cbasn1.Tag(1).Constructed().ContextSpecific()
	tag2 := cbasn1.Tag(2).Constructed().ContextSpecific()
	if body.PeekASN1Tag(tag0) {
		h, err := readAlgorithm(&body, tag0)
		if err != nil {
			return nil, fmt.Errorf("digestAlgorithm: %v", err)
		}
		ats.Hash = h
	}
	if body.PeekASN1Tag(tag1) {
		var el cryptobyte.String
		if !body.ReadASN1Element(&el, tag1) {
			return nil, errors.New("attributes")
		}
		ats.Attributes = append([]byte(nil), el...)
	}
	if body.PeekASN1Tag(tag2) {
		var tree cryptobyte.String
		if !body.ReadASN1(&tree, tag2) {
			return nil, errors.New("reducedHashtree")
		}
		ats.ReducedHashTree = [][][]byte{}
		for !tree.Empty() {
			if len(ats.ReducedHashTree) >= MaxTreeDepth {
				return nil, fmt.Errorf("more than %d partial hash trees", MaxTreeDepth)
			}
			var list cryptobyte.String
			if !tree.ReadASN1(&list, cbasn1.SEQUENCE) {
				return nil, errors.New("partialHashtree")
			}
			var values [][]byte
			for !list.Empty() {
				if len(values) >= MaxListHashes {
					return nil, fmt.Errorf("a partial hash tree with more than %d values", MaxListHashes)
				}
				var v cryptobyte.String
				if !list.ReadASN1(&v, cbasn1.OCTET_STRING) || len(v) == 0 || len(v) > 64 {
					return nil, errors.New("hash value: want an OCTET STRING of 1..64 bytes")
				}
				values = append(values, append([]byte(nil), v...))
			}
			if len(values) == 0 {
				return nil, errors.New("empty partial hash tree")
			}
			ats.ReducedHashTree = append(ats.ReducedHashTree, values)
		}
		if len(ats.ReducedHashTree) == 0 {
			return nil, errors.New("empty reducedHashtree")
		}
	}
	var ci cryptobyte.String
	if !body.ReadASN1Element(&ci, cbasn1.SEQUENCE) || !body.Empty() {
		return nil, errors.New("timeStamp: want one ContentInfo last")
	}
	ats.TimeStamp = append([]byte(nil), ci...)
	return ats, nil
}

// readAlgorithm reads an AlgorithmIdentifier with the given (outer) tag
// and returns its hash, which must be one this package supports.
func readAlgorithm(s *cryptobyte.String, tag cbasn1.Tag) (crypto.Hash, error) {
	var ai cryptobyte.String
	if !s.ReadASN1(&ai, tag) {
		return 0, errors.New("not an AlgorithmIdentifier")
	}
	var oid asn1.ObjectIdentifier
	if !ai.ReadASN1ObjectIdentifier(&oid) {
		return 0, errors.New("no algorithm OID")
	}
	// Parameters: absent (RFC 5754 §2) or NULL, nothing else.
	if !ai.Empty() {
		var null cryptobyte.String
		if !ai.ReadASN1(&null, cbasn1.NULL) || len(null) != 0 || !ai.Empty() {
			return 0, errors.New("hash algorithm parameters must be absent or NULL")
		}
	}
	h, err := cms.HashFromOID(oid)
	if err != nil || !Supported(h) {
		return 0, fmt.Errorf("hash algorithm %v is not supported", oid)
	}
	return h, nil
}

// Supported reports whether h may be a record's hash algorithm here:
// SHA-256, SHA-384, SHA-512, SHA3-256, SHA3-384 or SHA3-512.
func Supported(h crypto.Hash) bool {
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA3_256, crypto.SHA3_384, crypto.SHA3_512:
		return h.Available()
	}
	return false
}

// Marshal returns the DER of the record. Errors have kind kerr.Invalid:
// an empty record or chain, an unsupported algorithm, a limit exceeded.
func (er *EvidenceRecord) Marshal() ([]byte, error) {
	const op = "ers.EvidenceRecord.Marshal"
	if err := er.check(); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "", err)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, er.sizeHint()))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, h := range er.DigestAlgorithms {
				addAlgorithm(b, cbasn1.SEQUENCE, h)
			}
		})
		if er.CryptoInfos != nil {
			b.AddBytes(er.CryptoInfos)
		}
		if er.EncryptionInfo != nil {
			b.AddBytes(er.EncryptionInfo)
		}
		er.addSequence(b, len(er.Chains))
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, kerr.WrapKind(kerr.Internal, op, "encoding", err)
	}
	if len(der) > MaxRecordSize {
		return nil, kerr.E(kerr.Invalid, op, "the record would be %d bytes, more than %d", len(der), MaxRecordSize)
	}
	return der, nil
}

func (er *EvidenceRecord) check() error {
	if len(er.Chains) == 0 || len(er.Chains) > MaxChains {
		return fmt.Errorf("%d chains; want 1..%d", len(er.Chains), MaxChains)
	}
	for _, h := range er.DigestAlgorithms {
		if !Supported(h) {
			return fmt.Errorf("unsupported digest algorithm %v", h)
		}
	}
	for i, c := range er.Chains {
		if len(c) == 0 || len(c) > MaxStamps {
			return fmt.Errorf("chain %d has %d archive timestamps; want 1..%d", i, len(c), MaxStamps)
		}
		for j, a := range c {
			if a == nil || len(a.TimeStamp) == 0 {
				return fmt.Errorf("chain %d, archive timestamp %d has no timeStamp", i, j)
			}
			if a.Hash != 0 && !Supported(a.Hash) {
				return fmt.Errorf("chain %d, archive timestamp %d: unsupported digest algorithm %v", i, j, a.Hash)
			}
			if len(a.ReducedHashTree) > MaxTreeDepth {
				return fmt.Errorf("chain %d, archive timestamp %d: reduced hash tree deeper than %d", i, j, MaxTreeDepth)
			}
			for _, l := range a.ReducedHashTree {
				if len(l) == 0 || len(l) > MaxListHashes {
					return fmt.Errorf("chain %d, archive timestamp %d: a partial hash tree with %d values; want 1..%d", i, j, len(l), MaxListHashes)
				}
			}
		}
	}
	return nil
}

// sequenceDER is the DER of the ArchiveTimeStampSequence of the first n
// chains: what hash-tree renewal hashes (RFC 4998 §5.2).
func (er *EvidenceRecord) sequenceDER(n int) []byte {
	b := cryptobyte.NewBuilder(make([]byte, 0, er.sizeHint()))
	er.addSequence(b, n)
	return b.BytesOrPanic()
}

func (er *EvidenceRecord) addSequence(b *cryptobyte.Builder, n int) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, c := range er.Chains[:n] {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, a := range c {
					a.add(b)
				}
			})
		}
	})
}

// sizeHint is a little more than the record's DER size, so that Marshal
// allocates once (batch sealing writes ten thousand records at a time).
func (er *EvidenceRecord) sizeHint() int {
	n := 64 + 16*len(er.DigestAlgorithms) + len(er.CryptoInfos) + len(er.EncryptionInfo)
	for _, c := range er.Chains {
		n += 8
		for _, a := range c {
			n += 32 + len(a.Attributes) + len(a.TimeStamp)
			for _, l := range a.ReducedHashTree {
				n += 8
				for _, v := range l {
					n += 4 + len(v)
				}
			}
		}
	}
	return n
}

// add writes the DER of one ArchiveTimeStamp.
func (a *ArchiveTimeStamp) add(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if a.Hash != 0 {
			addAlgorithm(b, cbasn1.Tag(0).Constructed().ContextSpecific(), a.Hash)
		}
		if a.Attributes != nil {
			b.AddBytes(a.Attributes)
		}
		if a.ReducedHashTree != nil {
			b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				for _, l := range a.ReducedHashTree {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						for _, v := range l {
							b.AddASN1OctetString(v)
						}
					})
				}
			})
		}
		b.AddBytes(a.TimeStamp)
	})
}

// addAlgorithm writes an AlgorithmIdentifier without parameters (RFC 5754
// §2 for SHA-2; NIST CSOR for SHA-3).
func addAlgorithm(b *cryptobyte.Builder, tag cbasn1.Tag, h crypto.Hash) {
	oid, err := cms.HashOID(h)
	if err != nil {
		b.SetError(err)
		return
	}
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
	})
}
