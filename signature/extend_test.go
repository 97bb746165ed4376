package signature_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/pdf"
	"github.com/keiyaku/keiyaku/internal/revocation"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

func extend(t *testing.T, fn func(context.Context, io.ReaderAt, int64, io.Writer, *signature.ExtendOptions) error, in []byte, opts *signature.ExtendOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := fn(context.Background(), bytes.NewReader(in), int64(len(in)), &out, opts); err != nil {
		t.Fatalf("extend: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), in) {
		t.Fatal("output does not start with the input")
	}
	return out.Bytes()
}

// dssOf returns the DSS dictionary of the newest revision and a reader of
// its streams.
func dssOf(t *testing.T, b []byte) (pdf.Dict, func(pdf.Object) []byte) {
	t.Helper()
	f, err := pdf.Open(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := len(f.Revisions()) - 1
	cat, err := f.Catalog(last)
	if err != nil {
		t.Fatal(err)
	}
	o, err := f.Resolve(cat["DSS"], last)
	if err != nil {
		t.Fatal(err)
	}
	dss, ok := o.(pdf.Dict)
	if !ok {
		t.Fatalf("no DSS dictionary in catalog %v", cat)
	}
	read := func(ref pdf.Object) []byte {
		o, err := f.Resolve(ref, last)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := o.(*pdf.Stream)
		if !ok {
			t.Fatalf("%v is not a stream", ref)
		}
		r, err := f.StreamReader(st, true)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	return dss, read
}

func vriKey(s sigInFile, b []byte) pdf.Name {
	raw, _ := hex.DecodeString(string(b[s.br[1]+1 : s.br[2]-1]))
	sum := sha1.Sum(raw)
	return pdf.Name(strings.ToUpper(hex.EncodeToString(sum[:])))
}

func signBT(t *testing.T, p *testpki.PKI) []byte {
	t.Helper()
	opts := baseOpts(p, p.ECDSAP256)
	opts.Level, opts.Timestamper = signature.LevelBT, newTSA(t, p)
	return sign(t, onePage(), opts)
}

func TestAddValidationDataOnline(t *testing.T) {
	p := testpki.New(t)
	bt := signBT(t, p)
	now := func() testTime { return testpki.Now }
	lt := extend(t, signature.AddValidationData, bt, &signature.ExtendOptions{Online: true, Clock: now})
	dss, read := dssOf(t, lt)
	if dss.Name("Type") != "DSS" {
		t.Fatalf("DSS /Type = %v", dss["Type"])
	}
	certs, _ := dss["Certs"].(pdf.Array)
	ocsps, _ := dss["OCSPs"].(pdf.Array)
	// signer, intermediate, root, TSA, delegated OCSP responder.
	if len(certs) != 5 {
		t.Fatalf("%d certificates in DSS, want 5", len(certs))
	}
	// signer, TSA (delegated responder) and intermediate (by root).
	if len(ocsps) != 3 {
		t.Fatalf("%d OCSP responses in DSS, want 3", len(ocsps))
	}
	good := 0
	for _, o := range ocsps {
		der := read(o)
		for _, c := range []*testpki.Cert{p.ECDSAP256, p.TSA} {
			if r, err := revocation.CheckOCSP(der, c.Cert, p.Intermediate.Cert, testpki.Now); err == nil && r.Status == revocation.Good {
				good++
			}
		}
		if r, err := revocation.CheckOCSP(der, p.Intermediate.Cert, p.Root.Cert, testpki.Now); err == nil && r.Status == revocation.Good {
			good++
		}
	}
	if good != 3 {
		t.Fatalf("%d of the embedded OCSP responses check out, want 3", good)
	}
	sigs := signaturesIn(t, lt)
	vri, _ := dss["VRI"].(pdf.Dict)
	entry, ok := vri[vriKey(sigs[0], lt)].(pdf.Dict)
	if !ok || len(vri) != 2 {
		t.Fatalf("VRI %v: want entries for the signature and its timestamp token", vri)
	}
	if c, _ := entry["Cert"].(pdf.Array); len(c) != 5 {
		t.Fatalf("VRI entry %v", entry)
	}
	tok := sigs[0].sd.Signers[0].SignatureTimestampTokens()[0]
	tsum := sha1.Sum(tok)
	tokEntry, ok := vri[pdf.Name(strings.ToUpper(hex.EncodeToString(tsum[:])))].(pdf.Dict)
	if c, _ := tokEntry["Cert"].(pdf.Array); !ok || len(c) != 4 { // TSA, intermediate, root, OCSP responder
		t.Fatalf("VRI entry of the timestamp token: %v", tokEntry)
	}
	qpdfCheck(t, lt)
	db := p.NSSDB(t, t.TempDir())
	if out := pdfsig(t, db, lt); !strings.Contains(out, "Signature is Valid.") {
		t.Fatalf("signature no longer valid after DSS:\n%s", out)
	}

	// B-LTA: a document timestamp over everything.
	tsa := newTSA(t, p)
	lta := extend(t, signature.AddDocumentTimestamp, lt, &signature.ExtendOptions{Timestamper: tsa})
	sigs = signaturesIn(t, lta)
	if len(sigs) != 2 || sigs[1].br[2]+sigs[1].br[3] != int64(len(lta)) {
		t.Fatalf("want the document timestamp to cover the whole file")
	}
	if !bytes.Contains(lta[len(lt):], []byte("/SubFilter /ETSI.RFC3161")) || !bytes.Contains(lta[len(lt):], []byte("/Type /DocTimeStamp")) {
		t.Fatal("document timestamp dictionary not as ETSI EN 319 142-1 §5.4.3 asks")
	}
	digest := sha256.Sum256(sigs[1].signed)
	if _, err := timestamp.Verify(sigs[1].cmsDER, digest[:], &timestamp.VerifyOptions{Roots: p.Roots()}); err != nil {
		t.Fatalf("document timestamp token: %v", err)
	}
	qpdfCheck(t, lta)
	if out := pdfsig(t, db, lta); !strings.Contains(out, "Signature is Valid.") {
		t.Fatalf("signature no longer valid after document timestamp:\n%s", out)
	}

	// Renewal: validation data for the document timestamp too; the DSS
	// is extended, not duplicated.
	before := p.Requests("/ocsp")
	lta2 := extend(t, signature.AddValidationData, lta, &signature.ExtendOptions{Online: true, Clock: now})
	if p.Requests("/ocsp") == before {
		t.Log("all revocation data came from the existing DSS")
	}
	dss2, _ := dssOf(t, lta2)
	if vri2, _ := dss2["VRI"].(pdf.Dict); len(vri2) != 3 {
		t.Fatalf("VRI after renewal has %d entries, want 3 (signature, its token, document timestamp)", len(vri2))
	}
	if c, _ := dss2["Certs"].(pdf.Array); len(c) != 5 {
		t.Fatalf("%d certificates after renewal, want 5 (no duplicates)", len(c))
	}
}

func TestAddValidationDataOffline(t *testing.T) {
	p := testpki.New(t)
	bt := signBT(t, p)
	var supplied [][]byte
	for _, pair := range [][2]*testpki.Cert{{p.ECDSAP256, p.Intermediate}, {p.TSA, p.Intermediate}, {p.Intermediate, p.Root}} {
		der, err := p.OCSPFor(pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		supplied = append(supplied, der)
	}
	crl, err := p.CRL(p.Intermediate, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := func() testTime { return testpki.Now }
	tests := []struct {
		name    string
		opts    *signature.ExtendOptions
		want    error
		wantOCS int
		wantCRL int
	}{
		{"nothing to embed", &signature.ExtendOptions{Clock: now}, signature.ErrMissingValidationData, 0, 0},
		{"incomplete allowed", &signature.ExtendOptions{Clock: now, AllowIncomplete: true}, nil, 0, 0},
		{"supplied OCSP", &signature.ExtendOptions{Clock: now, OCSPs: supplied}, nil, 3, 0},
		{"supplied CRL covers leaves only", &signature.ExtendOptions{Clock: now, CRLs: [][]byte{crl}}, signature.ErrMissingValidationData, 0, 0},
		{"CRL for leaves, OCSP for intermediate", &signature.ExtendOptions{Clock: now, CRLs: [][]byte{crl}, OCSPs: supplied[2:]}, nil, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.Requests("/ocsp") + p.Requests("/int.crl")
			var out bytes.Buffer
			err := signature.AddValidationData(context.Background(), bytes.NewReader(bt), int64(len(bt)), &out, tt.opts)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if p.Requests("/ocsp")+p.Requests("/int.crl") != before {
				t.Fatal("offline extension went online")
			}
			if err != nil {
				return
			}
			dss, _ := dssOf(t, out.Bytes())
			o, _ := dss["OCSPs"].(pdf.Array)
			c, _ := dss["CRLs"].(pdf.Array)
			if len(o) != tt.wantOCS || len(c) != tt.wantCRL {
				t.Fatalf("DSS has %d OCSPs, %d CRLs; want %d, %d", len(o), len(c), tt.wantOCS, tt.wantCRL)
			}
		})
	}
}

func TestExtendErrors(t *testing.T) {
	p := testpki.New(t)
	tests := []struct {
		name string
		fn   func(context.Context, io.ReaderAt, int64, io.Writer, *signature.ExtendOptions) error
		in   []byte
		opts *signature.ExtendOptions
		want error
	}{
		{"DSS for unsigned file", signature.AddValidationData, onePage(), nil, signature.ErrUnsupportedDocument},
		{"DSS for non-PDF", signature.AddValidationData, []byte("not a pdf at all"), nil, signature.ErrUnsupportedDocument},
		{"doc timestamp without TSA", signature.AddDocumentTimestamp, onePage(), &signature.ExtendOptions{}, signature.ErrInvalidSignOptions},
		{"doc timestamp nil options", signature.AddDocumentTimestamp, onePage(), nil, signature.ErrInvalidSignOptions},
		{"doc timestamp too small", signature.AddDocumentTimestamp, onePage(), &signature.ExtendOptions{Timestamper: newTSA(t, p), ContentsSize: 200}, signature.ErrContentsTooSmall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(context.Background(), bytes.NewReader(tt.in), int64(len(tt.in)), io.Discard, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
