package cms

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// AddUnsignedAttributes returns the SignedData ContentInfo der (BER is
// accepted and comes back as DER) with attrs appended to the unsigned
// attributes of the signer at index signer, for example an
// id-aa-signatureTimeStampToken over that signer's signature (RFC 3161
// Appendix A, ETSI EN 319 122-1 §5.3). Everything the signature covers is
// copied unchanged, so the signature stays valid. Errors wrap ErrMalformed,
// or say that the signer index is out of range.
func AddUnsignedAttributes(der []byte, signer int, attrs ...Attribute) ([]byte, error) {
	sd, err := Parse(der)
	if err != nil {
		return nil, err
	}
	if signer < 0 || signer >= len(sd.Signers) {
		return nil, fmt.Errorf("cms: signer %d of %d", signer, len(sd.Signers))
	}
	merged := append(append([]Attribute{}, sd.Signers[signer].UnsignedAttrs...), attrs...)
	if len(merged) > maxAttributes {
		return nil, fmt.Errorf("%w: more than %d unsigned attributes", ErrMalformed, maxAttributes)
	}
	unsigned, err := MarshalAttributes(merged)
	if err != nil {
		return nil, err
	}
	unsigned[0] = 0xa1 // [1] IMPLICIT SET OF Attribute

	// Walk the DER Parse produced; its shape has been checked already.
	in := cryptobyte.String(sd.Raw)
	var ci, content, s cryptobyte.String
	var ct cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1Element(&ct, cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!content.ReadASN1(&s, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: ContentInfo", ErrMalformed)
	}
	var head [][]byte
	var sis cryptobyte.String
	for !s.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1Element(&el, &tag) {
			return nil, fmt.Errorf("%w: SignedData", ErrMalformed)
		}
		if s.Empty() {
			if !el.ReadASN1(&sis, cbasn1.SET) {
				return nil, fmt.Errorf("%w: signerInfos", ErrMalformed)
			}
			break
		}
		head = append(head, el)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(ct)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, h := range head {
					b.AddBytes(h)
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					for i := 0; !sis.Empty(); i++ {
						var si cryptobyte.String
						if !sis.ReadASN1Element(&si, cbasn1.SEQUENCE) {
							b.SetError(fmt.Errorf("%w: SignerInfo", ErrMalformed))
							return
						}
						if i != signer {
							b.AddBytes(si)
							continue
						}
						var body cryptobyte.String
						si.ReadASN1(&body, cbasn1.SEQUENCE)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							for !body.Empty() {
								var el cryptobyte.String
								var tag cbasn1.Tag
								if !body.ReadAnyASN1Element(&el, &tag) {
									b.SetError(fmt.Errorf("%w: SignerInfo field", ErrMalformed))
									return
								}
								if tag == cbasn1.Tag(1).Constructed().ContextSpecific() {
									continue // replaced by the merged set
								}
								b.AddBytes(el)
							}
							b.AddBytes(unsigned)
						})
					}
				})
			})
		})
	})
	return b.Bytes()
}
