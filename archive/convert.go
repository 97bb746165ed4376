package archive

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/keiyaku/keiyaku/archive/ers"
	"github.com/keiyaku/keiyaku/kerr"
)

// OIDTokenChainRenewals identifies the ArchiveTimeStamp attribute in which
// ConvertTokenChain keeps the renewal tokens of the token chain a record
// was made from: a UUID-based OID (ITU-T X.667, arc 2.25) so that no
// registration is needed. Its value is a SEQUENCE OF ContentInfo, the
// renewal tokens oldest first.
const OIDTokenChainRenewals = "2.25.43355762057269245511262511131132566336"

// oidRenewalsContent is the DER content octets of OIDTokenChainRenewals;
// encoding/asn1 cannot hold an arc this large, crypto/x509.OID can.
var oidRenewalsContent = func() []byte {
	oid, err := x509.ParseOID(OIDTokenChainRenewals)
	if err != nil {
		panic(err)
	}
	b, err := oid.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}()

// ConvertTokenChain turns a file's token chain (StampFile's token, then
// RenewFileToken's renewals, oldest first) into an RFC 4998 evidence
// record, the migration from the evidence keiyaku kept before SealFile:
// the first token becomes the first ArchiveTimeStamp (its imprint is the
// file's SHA-256, which RFC 4998 §4.3 accepts without a reduced hash
// tree), the renewals ride along in its OIDTokenChainRenewals attribute,
// and a timestamp renewal from Config.Timestamper now covers it (RFC 4998
// §5.2). Any RFC 4998 verifier can check the file against the record;
// VerifyFile also checks the old renewals, which prove the first token's
// TSA was valid until the renewal made here.
//
// The chain must prove the file now (VerifyFile would call it original);
// convert before its newest TSA certificate expires. Errors: kerr.Invalid
// for an empty, too long or malformed chain; kerr.FailedPrecondition when
// the chain does not prove the file now; kerr.Unavailable when reading or
// the TSA fails.
func (s *Service) ConvertTokenChain(ctx context.Context, file io.Reader, tokens [][]byte) ([]byte, error) {
	const op = "archive.ConvertTokenChain"
	if file == nil {
		return nil, kerr.E(kerr.Invalid, op, "nil file reader")
	}
	if err := checkChainShape(tokens, MaxTokens); err != nil {
		return nil, kerr.WrapKind(kerr.Invalid, op, "", err)
	}
	h := sha256.New()
	if err := hashStream(ctx, h, file); err != nil {
		return nil, kerr.WrapKind(kerr.Unavailable, op, "reading the file", err)
	}
	_, reasons, _, _, err := s.tokenChain(ctx, h, tokens, s.clock())
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	if len(reasons) > 0 {
		return nil, kerr.E(kerr.FailedPrecondition, op, "the token chain does not prove the file now, so a record made from it would not either: %s", strings.Join(reasons, "; "))
	}
	ats := &ers.ArchiveTimeStamp{Hash: crypto.SHA256, TimeStamp: tokens[0]}
	if len(tokens) > 1 {
		ats.Attributes = renewalsAttribute(tokens[1:])
	}
	rec := &ers.EvidenceRecord{DigestAlgorithms: []crypto.Hash{crypto.SHA256}, Chains: [][]*ers.ArchiveTimeStamp{{ats}}}
	der, err := rec.Marshal()
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	out, err := s.RenewRecords(ctx, [][]byte{der})
	if err != nil {
		return nil, kerr.Wrap(op, err)
	}
	s.log.InfoContext(ctx, "archive: converted a token chain into an evidence record", "tokens", len(tokens))
	return out[0], nil
}

// renewalsAttribute is the DER of [1] IMPLICIT Attributes holding one
// OIDTokenChainRenewals attribute (RFC 5652 §5.3 Attribute).
func renewalsAttribute(renewals [][]byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oidRenewalsContent) })
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, r := range renewals {
						b.AddBytes(r)
					}
				})
			})
		})
	})
	return b.BytesOrPanic()
}

// chainRenewals returns the renewal tokens of an OIDTokenChainRenewals
// attribute in attrs (the [1] field's DER), nil when there is none.
func chainRenewals(attrs []byte) ([][]byte, error) {
	if attrs == nil {
		return nil, nil
	}
	in := cryptobyte.String(attrs)
	var set cryptobyte.String
	if !in.ReadASN1(&set, cbasn1.Tag(1).Constructed().ContextSpecific()) || !in.Empty() {
		return nil, errors.New("attributes are not [1] Attributes")
	}
	for !set.Empty() {
		var attr, oid, values cryptobyte.String
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return nil, errors.New("an attribute is malformed")
		}
		if !bytes.Equal(oid, oidRenewalsContent) {
			continue
		}
		var seq cryptobyte.String
		if !values.ReadASN1(&seq, cbasn1.SEQUENCE) || !values.Empty() {
			return nil, errors.New("the token chain attribute must hold one SEQUENCE OF ContentInfo")
		}
		var out [][]byte
		for !seq.Empty() {
			var tok cryptobyte.String
			if !seq.ReadASN1Element(&tok, cbasn1.SEQUENCE) {
				return nil, errors.New("a renewal token is malformed")
			}
			if len(out) >= MaxTokens-1 {
				return nil, fmt.Errorf("more than %d renewal tokens", MaxTokens-1)
			}
			out = append(out, bytes.Clone(tok))
		}
		if len(out) == 0 {
			return nil, errors.New("the token chain attribute is empty")
		}
		return out, nil
	}
	return nil, nil
}

// vouchTokenChain is ers.VerifyOptions.Vouch for converted records: the
// first ArchiveTimeStamp's renewals (OIDTokenChainRenewals) must hold as a
// token chain until until. fileState is the SHA-256 state after the file.
func (s *Service) vouchTokenChain(fileState []byte) func(ctx context.Context, c, j int, a *ers.ArchiveTimeStamp, until time.Time) (bool, string, error) {
	return func(ctx context.Context, c, j int, a *ers.ArchiveTimeStamp, until time.Time) (bool, string, error) {
		if c != 0 || j != 0 || a.Attributes == nil {
			return false, "", nil
		}
		renewals, err := chainRenewals(a.Attributes)
		if err != nil {
			return true, "its token chain attribute is unreadable: " + err.Error(), nil
		}
		if renewals == nil {
			return false, "", nil
		}
		h := sha256.New()
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(fileState); err != nil {
			return false, "", kerr.WrapKind(kerr.Internal, "archive.VerifyFile", "restoring the file's hash", err)
		}
		_, reasons, _, _, err := s.tokenChain(ctx, h, append([][]byte{a.TimeStamp}, renewals...), until)
		if err != nil {
			return false, "", err
		}
		return true, strings.Join(reasons, "; "), nil
	}
}

// hasTokenChain reports whether rec was converted from a token chain.
func hasTokenChain(rec *ers.EvidenceRecord) bool {
	a := rec.Chains[0][0]
	r, err := chainRenewals(a.Attributes)
	return err != nil || r != nil
}
