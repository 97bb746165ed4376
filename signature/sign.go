package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/timestamp"
)

// Errors of Sign, AddValidationData and AddDocumentTimestamp, reachable
// with errors.Is.
var (
	// ErrInvalidSignOptions: the options are incomplete or contradict each
	// other; the message says which field.
	ErrInvalidSignOptions = errors.New("signature: invalid sign options")
	// ErrUnsupportedDocument: the input cannot take an incremental update
	// (not a PDF, encrypted, damaged cross-reference data, no pages).
	ErrUnsupportedDocument = errors.New("signature: document cannot be updated")
	// ErrNotPermitted: the document forbids the change (a certification
	// signature with DocMDP P=1, or a certification signature requested
	// on a document that is already signed, ISO 32000-2 §12.8.2.2).
	ErrNotPermitted = errors.New("signature: change not permitted by the document")
	// ErrContentsTooSmall: the CMS (with its timestamp token) did not fit
	// the space reserved for /Contents; raise SignOptions.ContentsSize.
	ErrContentsTooSmall = errors.New("signature: reserved /Contents space too small")
)

// Timestamper obtains RFC 3161 timestamp tokens (for B-T signature
// timestamps and document timestamps). *timestamp.Client (with Hash zero
// or SHA-256) satisfies it; wrap a local *timestamp.Authority with
// AuthorityTimestamper.
type Timestamper interface {
	// Timestamp returns a token whose messageImprint is digest, a
	// SHA-256 hash.
	Timestamp(ctx context.Context, digest []byte) (*timestamp.Token, error)
}

// AuthorityTimestamper adapts a local timestamping authority to
// Timestamper: SHA-256 imprints, TSA certificates included (certReq).
func AuthorityTimestamper(a *timestamp.Authority) Timestamper {
	return authorityTimestamper{a}
}

type authorityTimestamper struct{ a *timestamp.Authority }

func (t authorityTimestamper) Timestamp(ctx context.Context, digest []byte) (*timestamp.Token, error) {
	return t.a.Timestamp(ctx, crypto.SHA256, digest, &timestamp.TimestampOptions{CertReq: true})
}

// Appearance places a visible signature widget.
type Appearance struct {
	// Page is 1-based; 0 means the first page.
	Page int
	// Rect is [x1 y1 x2 y2] in default user space (points, origin lower
	// left) of the page.
	Rect [4]float64
	// Text is shown in the box, one line per "\n". Empty means, with
	// Font, the signer's company (the certificate's organization), name
	// (common name) and the signing date in Japanese ("署名日 2026年1月1日
	// 9:00 JST", in the location of SigningTime: give a time in
	// Asia/Tokyo for Japanese readers); without Font, the common name and
	// the signing time.
	Text string
	// Font, when non-nil, draws Text with an embedded subset of this
	// TrueType font (only the glyphs used; see LoadFont, whose default
	// is IPAex Gothic), so every viewer shows the same glyphs. Nil draws
	// with the predefined CJK font HeiseiKakuGo-W5 (UniJIS-UCS2-H,
	// ISO 32000-2 §9.7.5.2), not embedded: viewers substitute a Japanese
	// font of their own, or show boxes when they have none.
	Font *Font
	// Image, when non-nil, is a PNG (at most MaxImageBytes, at most
	// MaxImagePixels each way) drawn at the right of the box, e.g. a seal
	// impression (印影); its transparency is kept (a soft mask). Needs
	// Font.
	Image []byte
}

// SignOptions are the inputs of Sign. Signer and Certificate are required.
type SignOptions struct {
	// Signer is the private key of Certificate (RSA, ECDSA or Ed25519).
	Signer      crypto.Signer
	Certificate *x509.Certificate
	// Chain holds the certificates that lead from Certificate to a trust
	// anchor; they are embedded in the CMS. May be nil.
	Chain []*x509.Certificate
	// Level is LevelBB (the default when empty) or LevelBT, which needs
	// Timestamper. Use AddValidationData and AddDocumentTimestamp on the
	// result for B-LT and B-LTA.
	Level       Level
	Timestamper Timestamper
	// Hash is the digest algorithm; zero means SHA-256 (Ed25519 always
	// uses SHA-512, RFC 8419).
	Hash crypto.Hash
	// PSS signs with RSASSA-PSS instead of PKCS #1 v1.5 for RSA keys.
	PSS bool
	// Field is the signature field name; empty means "Signature<n>" with
	// the lowest unused n. An existing unsigned signature field of this
	// name (top level) is signed in place; any other existing field of
	// this name is an error.
	Field                               string
	Reason, Location, ContactInfo, Name string
	// Certification makes this a certification (author) signature with
	// the DocMDP permission DocMDP (1: no changes, 2: form filling and
	// signing, 3: also annotations); 0 means 2. Only allowed on a
	// document without signatures (ISO 32000-2 §12.8.2.2.1).
	Certification bool
	DocMDP        int
	// Visible, when non-nil, gives the widget a place and an appearance;
	// nil makes an invisible signature (zero rectangle on page 1).
	Visible *Appearance
	// SigningTime goes into the /M entry (PAdES puts no signing-time
	// attribute in the CMS, ETSI EN 319 142-1 §5.2.1); zero means Clock().
	SigningTime time.Time
	// Clock gives the time when SigningTime is zero; nil means time.Now.
	Clock func() time.Time
	// ContentsSize is the number of bytes reserved for the CMS in
	// /Contents; 0 means an estimate from the certificates (plus 16 KiB
	// for a timestamp token at B-T).
	ContentsSize int
}

// maxContentsSize bounds ContentsSize: a /Contents string this large is
// already far beyond any real signature.
const maxContentsSize = 4 << 20

// Sign is written on internal/pdf and internal/cms rather than on
// github.com/digitorus/pdfsign: pdfsign reads the input through
// digitorus/pdf, which loads the newest object graph only and panics on
// malformed input; it builds the whole output in memory (filebuffer); and
// its CMS comes from digitorus/pkcs7, which always adds a signing-time
// attribute taken from the wall clock (PAdES baseline forbids it, and we
// keep time explicit). What pdfsign does that we need — the /ByteRange
// placeholder patched after layout — is a few lines here (swFinish).

// Sign adds a PAdES signature (ETSI EN 319 142-1, SubFilter
// ETSI.CAdES.detached, ISO 32000-2 §12.8.3.4) to the PDF in (size bytes)
// and writes the signed file to out. The output is the input, byte for
// byte, followed by one incremental update (§7.5.6) holding the signature
// dictionary, its field and widget, and the changed page, form and catalog
// objects; earlier signatures stay valid.
//
// The CMS is detached SignedData with content-type, message-digest and
// ESS signing-certificate-v2 signed attributes and no signing-time; at
// LevelBT the signature timestamp (RFC 3161 token over the signature
// value) is an unsigned attribute (id-aa-signatureTimeStampToken). The
// signed digest covers the /ByteRange: everything but the /Contents
// string.
//
// in is read twice (to digest, then to copy) and never held in memory;
// out receives size bytes plus the update, written in order, so it may be
// any io.Writer. On error, out may hold a partial file.
func Sign(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, opts *SignOptions) error {
	if err := checkSignOptions(opts); err != nil {
		return err
	}
	h := opts.Hash
	if h == 0 {
		h = crypto.SHA256
	}
	if _, ok := opts.Signer.Public().(ed25519.PublicKey); ok {
		h = crypto.SHA512
	}
	if !h.Available() {
		return fmt.Errorf("%w: Hash %v is not available", ErrInvalidSignOptions, h)
	}
	u, err := swOpen(in, size)
	if err != nil {
		return err
	}
	signingTime := opts.SigningTime
	if signingTime.IsZero() {
		clock := opts.Clock
		if clock == nil {
			clock = time.Now
		}
		signingTime = clock()
	}

	contentsSize := opts.ContentsSize
	if contentsSize == 0 {
		contentsSize = 4096
		for _, c := range append([]*x509.Certificate{opts.Certificate}, opts.Chain...) {
			contentsSize += len(c.Raw)
		}
		if pub, ok := opts.Signer.Public().(*rsa.PublicKey); ok {
			contentsSize += pub.Size()
		}
		if opts.Level == LevelBT {
			contentsSize += 16 << 10
		}
	}

	sigRef := u.newRef()
	sig := pdf.Dict{
		"Type":      pdf.Name("Sig"),
		"Filter":    pdf.Name("Adobe.PPKLite"),
		"SubFilter": pdf.Name("ETSI.CAdES.detached"),
		"M":         swText(swDate(signingTime)),
		// Fixed-width slots, patched once the layout is known.
		"ByteRange": swRaw("[" + strings.Repeat(" ", swByteRangeWidth) + "]"),
		"Contents":  swRaw("<" + strings.Repeat("0", 2*contentsSize) + ">"),
	}
	for k, v := range map[pdf.Name]string{"Reason": opts.Reason, "Location": opts.Location, "ContactInfo": opts.ContactInfo, "Name": opts.Name} {
		if v != "" {
			sig[k] = swText(v)
		}
	}
	if opts.Certification {
		p := opts.DocMDP
		if p == 0 {
			p = 2
		}
		sig["Reference"] = pdf.Array{pdf.Dict{
			"Type":            pdf.Name("SigRef"),
			"TransformMethod": pdf.Name("DocMDP"),
			"TransformParams": pdf.Dict{"Type": pdf.Name("TransformParams"), "P": int64(p), "V": pdf.Name("1.2")},
		}}
	}
	if err := u.set(sigRef, sig); err != nil {
		return err
	}
	spec := swFieldSpec{
		name: opts.Field, prefix: "Signature", visible: opts.Visible, certification: opts.Certification,
		defaultText: swDefaultText(opts, signingTime),
	}
	if _, err := swAddField(u, sigRef, spec); err != nil {
		return err
	}
	return swFinish(ctx, u, in, size, out, sigRef, contentsSize, h, func(digest []byte) ([]byte, error) {
		return swBuildCMS(ctx, digest, h, opts)
	})
}

// swFinish lays out the update, fixes the /ByteRange of the signature
// dictionary sigRef, digests the covered bytes with h (streaming the
// input), asks contents for the DER to put into /Contents and writes the
// input and the update to out.
func swFinish(ctx context.Context, u *swUpdate, in io.ReaderAt, size int64, out io.Writer, sigRef pdf.Ref, contentsSize int, h crypto.Hash, contents func(digest []byte) ([]byte, error)) error {
	inc, err := u.build()
	if err != nil {
		return err
	}
	// Locate the slots inside the signature dictionary and fix the
	// byte range: everything but the /Contents string, delimiters
	// included (ISO 32000-2 §12.8.1).
	objStart := u.offsets[sigRef.Num]
	brAt := bytes.Index(inc[objStart:], []byte("/ByteRange ["))
	cAt := bytes.Index(inc[objStart:], []byte("/Contents <"))
	if brAt < 0 || cAt < 0 {
		return errors.New("signature: internal error: placeholders not found")
	}
	brAt += objStart + len("/ByteRange [")
	cStart := objStart + cAt + len("/Contents ")
	cEnd := cStart + 2*contentsSize + 2
	total := size + int64(len(inc))
	br := fmt.Sprintf("0 %d %d %d", size+int64(cStart), size+int64(cEnd), total-size-int64(cEnd))
	if len(br) > swByteRangeWidth {
		return fmt.Errorf("%w: file too large for the /ByteRange slot", ErrUnsupportedDocument)
	}
	copy(inc[brAt:], br)

	hh := h.New()
	if _, err := io.Copy(hh, io.NewSectionReader(in, 0, size)); err != nil {
		return fmt.Errorf("signature: read input: %w", err)
	}
	hh.Write(inc[:cStart])
	hh.Write(inc[cEnd:])
	if err := ctx.Err(); err != nil {
		return err
	}
	der, err := contents(hh.Sum(nil))
	if err != nil {
		return err
	}
	if len(der) > contentsSize {
		return fmt.Errorf("%w: %d bytes needed, %d reserved", ErrContentsTooSmall, len(der), contentsSize)
	}
	hex.Encode(inc[cStart+1:], der)
	return swWriteOut(in, size, inc, out)
}

// swByteRangeWidth holds "0 a b c" for files up to 10^17 bytes.
const swByteRangeWidth = 60

func checkSignOptions(o *SignOptions) error {
	switch {
	case o == nil:
		return fmt.Errorf("%w: nil options", ErrInvalidSignOptions)
	case o.Signer == nil || o.Certificate == nil:
		return fmt.Errorf("%w: Signer and Certificate are required", ErrInvalidSignOptions)
	case o.Level != "" && o.Level != LevelBB && o.Level != LevelBT:
		return fmt.Errorf("%w: Level %q: Sign makes B-B or B-T; use AddValidationData and AddDocumentTimestamp for B-LT and B-LTA", ErrInvalidSignOptions, o.Level)
	case o.Level == LevelBT && o.Timestamper == nil:
		return fmt.Errorf("%w: Level B-T needs a Timestamper", ErrInvalidSignOptions)
	case o.DocMDP < 0 || o.DocMDP > 3 || o.DocMDP != 0 && !o.Certification:
		return fmt.Errorf("%w: DocMDP %d: must be 1, 2 or 3 and needs Certification", ErrInvalidSignOptions, o.DocMDP)
	case o.ContentsSize < 0 || o.ContentsSize > maxContentsSize:
		return fmt.Errorf("%w: ContentsSize %d out of range 0..%d", ErrInvalidSignOptions, o.ContentsSize, maxContentsSize)
	case len(o.Field) > 256 || strings.ContainsAny(o.Field, "."):
		return fmt.Errorf("%w: Field %q: at most 256 bytes and no '.' (a top-level field name)", ErrInvalidSignOptions, o.Field)
	case !bytes.Equal(o.Certificate.RawSubjectPublicKeyInfo, swMarshalPub(o.Signer.Public())):
		return fmt.Errorf("%w: Signer is not the key of Certificate", ErrInvalidSignOptions)
	}
	if v := o.Visible; v != nil {
		if v.Page < 0 || v.Rect[2] <= v.Rect[0] || v.Rect[3] <= v.Rect[1] {
			return fmt.Errorf("%w: Visible needs Page >= 0 and a rectangle with x2 > x1, y2 > y1", ErrInvalidSignOptions)
		}
		if v.Image != nil && v.Font == nil {
			return fmt.Errorf("%w: Visible.Image needs Visible.Font", ErrInvalidSignOptions)
		}
	}
	return nil
}

func swMarshalPub(pub crypto.PublicKey) []byte {
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	return b
}

// swBuildCMS makes the detached CMS over digest, with a signature
// timestamp at B-T.
func swBuildCMS(ctx context.Context, digest []byte, h crypto.Hash, opts *SignOptions) ([]byte, error) {
	certs := []*x509.Certificate{opts.Certificate}
	for _, c := range opts.Chain {
		if c != nil && !slices.ContainsFunc(certs, c.Equal) {
			certs = append(certs, c)
		}
	}
	// The signature timestamp covers the signature value, and adding it
	// means building the SignerInfo again; memoSigner returns the same
	// signature for the same signed attributes (ECDSA and PSS are
	// randomised, so signing twice would not).
	ms := &memoSigner{Signer: opts.Signer}
	co := &cms.SignOptions{Hash: h, PSS: opts.PSS, Certificates: certs}
	der, err := cms.Sign(digest, ms, opts.Certificate, co)
	if err != nil {
		return nil, fmt.Errorf("signature: build CMS: %w", err)
	}
	if opts.Level != LevelBT {
		return der, nil
	}
	sd, err := cms.Parse(der)
	if err != nil || len(sd.Signers) != 1 {
		return nil, fmt.Errorf("signature: internal error: re-parse own CMS: %v", err)
	}
	th := crypto.SHA256
	sum := th.New()
	sum.Write(sd.Signers[0].Signature)
	token, err := swTimestamp(ctx, opts.Timestamper, sum.Sum(nil))
	if err != nil {
		return nil, err
	}
	co.UnsignedAttrs = []cms.Attribute{{Type: cms.OIDAttrTimeStampToken, Values: []asn1.RawValue{{FullBytes: token}}}}
	der2, err := cms.Sign(digest, ms, opts.Certificate, co)
	if err != nil {
		return nil, fmt.Errorf("signature: build CMS with timestamp: %w", err)
	}
	return der2, nil
}

// swTimestamp asks ts for a token over the SHA-256 digest and checks it
// answers that question (a TSA that stamps something else would make the
// signature unverifiable later).
func swTimestamp(ctx context.Context, ts Timestamper, digest []byte) ([]byte, error) {
	tok, err := ts.Timestamp(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("signature: timestamp: %w", err)
	}
	if tok == nil || tok.Hash != crypto.SHA256 || !bytes.Equal(tok.HashedMessage, digest) {
		return nil, fmt.Errorf("signature: timestamp token does not stamp the requested SHA-256 digest")
	}
	var v asn1.RawValue
	if rest, err := asn1.Unmarshal(tok.Raw, &v); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("signature: timestamp token is not one DER value")
	}
	return tok.Raw, nil
}

// memoSigner signs each distinct input once and replays the result.
type memoSigner struct {
	crypto.Signer
	mu      sync.Mutex
	in, sig []byte
}

func (m *memoSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sig != nil && bytes.Equal(m.in, digest) {
		return m.sig, nil
	}
	sig, err := m.Signer.Sign(rand, digest, opts)
	if err != nil {
		return nil, err
	}
	m.in, m.sig = append([]byte(nil), digest...), sig
	return sig, nil
}

// swDefaultText is the appearance text when Visible.Text is empty.
func swDefaultText(opts *SignOptions, t time.Time) string {
	subj := opts.Certificate.Subject
	if opts.Visible == nil || opts.Visible.Font == nil {
		return subj.CommonName + "\n" + t.Format("2006-01-02 15:04:05 -07:00")
	}
	var lines []string
	if len(subj.Organization) > 0 {
		lines = append(lines, subj.Organization[0])
	}
	lines = append(lines, subj.CommonName, "署名日 "+t.Format("2006年1月2日 15:04 MST"))
	return strings.Join(lines, "\n")
}
