package timestamp

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// messageImprint is MessageImprint (RFC 3161 §2.4.1).
type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

// request is TimeStampReq (RFC 3161 §2.4.1).
type request struct {
	Version        int
	MessageImprint messageImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        bool                  `asn1:"optional"`
	Extensions     []pkix.Extension      `asn1:"optional,tag:0"`
}

// accuracy is Accuracy (RFC 3161 §2.4.2); the module uses IMPLICIT tags.
type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

// tstInfo is TSTInfo (RFC 3161 §2.4.2), for parsing only: encoding/asn1
// cannot write the fractional seconds of genTime, so encodeTSTInfo writes it.
type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        time.Time        `asn1:"generalized"`
	Accuracy       accuracy         `asn1:"optional"`
	Ordering       bool             `asn1:"optional"`
	Nonce          *big.Int         `asn1:"optional"`
	TSA            asn1.RawValue    `asn1:"optional,explicit,tag:0"`
	Extensions     []pkix.Extension `asn1:"optional,tag:1"`
}

// pkiStatusInfo is PKIStatusInfo (RFC 3161 §2.4.2).
type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

// response is TimeStampResp (RFC 3161 §2.4.2).
type response struct {
	Status         pkiStatusInfo
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

// generalizedTime formats t as DER GeneralizedTime (X.690 §11.7): UTC, Z,
// fractional seconds without trailing zeros, none when whole.
func generalizedTime(t time.Time) string {
	s := t.UTC().Format("20060102150405.000000000")
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	return s + "Z"
}

// tstFields are the values of a TSTInfo this package writes.
type tstFields struct {
	policy   asn1.ObjectIdentifier
	hashAlg  []byte // DER AlgorithmIdentifier, copied from the request
	digest   []byte
	serial   *big.Int
	genTime  time.Time
	accuracy time.Duration
	nonce    *big.Int
	tsaName  []byte // DER Name, nil to leave tsa out
}

func encodeTSTInfo(f *tstFields) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(f.policy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(f.hashAlg)
			b.AddASN1OctetString(f.digest)
		})
		b.AddASN1BigInt(f.serial)
		b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) {
			b.AddBytes([]byte(generalizedTime(f.genTime)))
		})
		if f.accuracy > 0 {
			secs := int64(f.accuracy / time.Second)
			millis := int64(f.accuracy % time.Second / time.Millisecond)
			micros := int64(f.accuracy % time.Millisecond / time.Microsecond)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if secs > 0 {
					b.AddASN1Int64(secs)
				}
				if millis > 0 {
					b.AddASN1Int64WithTag(millis, cbasn1.Tag(0).ContextSpecific())
				}
				if micros > 0 {
					b.AddASN1Int64WithTag(micros, cbasn1.Tag(1).ContextSpecific())
				}
			})
		}
		if f.nonce != nil {
			b.AddASN1BigInt(f.nonce)
		}
		if f.tsaName != nil {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(f.tsaName)
				})
			})
		}
	})
	return b.Bytes()
}

// encodeResponse writes a TimeStampResp. text goes out as UTF8String as
// PKIFreeText requires (encoding/asn1 would pick PrintableString).
func encodeResponse(status int, text string, failInfo []int, token []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(int64(status))
			if text != "" {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(text)) })
				})
			}
			if len(failInfo) > 0 {
				b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes(bitString(failInfo)) })
			}
		})
		if token != nil {
			b.AddBytes(token)
		}
	})
	return b.Bytes()
}

// bitString encodes a named-bit BIT STRING value in DER (X.690 §11.2.2:
// trailing zero bits removed) as the content octets, unused-bit count first.
func bitString(bits []int) []byte {
	maxBit := 0
	for _, n := range bits {
		maxBit = max(maxBit, n)
	}
	body := make([]byte, maxBit/8+1)
	for _, n := range bits {
		body[n/8] |= 0x80 >> (n % 8)
	}
	unused := 7 - maxBit%8
	return append([]byte{byte(unused)}, body...)
}
