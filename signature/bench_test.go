package signature_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/pdf/pdftest"
	"github.com/keiyaku/keiyaku/internal/testpki"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

// Benchmarks: compare Validate with SHA-256 alone over the same file, and
// with poppler's pdfsig in the same run:
//
//	go test ./signature -run '^$' -bench . -benchtime 5x -count 6 | tee new.txt
//	benchstat new.txt

// bigPDF writes, once per process, a signed PDF of about mb MiB whose bulk
// is one incompressible stream, and returns its path and the test PKI's
// root.
var bigPDFs sync.Map // mb -> *bigPDF

type bigPDF struct {
	once sync.Once
	path string
	root *x509.Certificate
	err  error
}

// benchDirs are the directories of files shared by the benchmarks of one
// process (built once, so no single benchmark's cleanup may remove them);
// TestMain removes them when the process ends.
var benchDirs struct {
	sync.Mutex
	dirs []string
}

func benchTempDir() (string, error) {
	dir, err := os.MkdirTemp("", "keiyaku-bench-")
	if err == nil {
		benchDirs.Lock()
		benchDirs.dirs = append(benchDirs.dirs, dir)
		benchDirs.Unlock()
	}
	return dir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	benchDirs.Lock()
	for _, d := range benchDirs.dirs {
		os.RemoveAll(d)
	}
	benchDirs.Unlock()
	os.Exit(code)
}

func signedFileOfSize(b *testing.B, mb int) (string, *x509.Certificate) {
	v, _ := bigPDFs.LoadOrStore(mb, &bigPDF{})
	bp := v.(*bigPDF)
	bp.once.Do(func() {
		p := testpki.New(b)
		dir, err := benchTempDir()
		if err != nil {
			bp.err = err
			return
		}
		data := make([]byte, mb<<20)
		r := rand.NewChaCha8([32]byte{1})
		r.Read(data)
		w := pdftest.New()
		w.Object(1, "<< /Type /Catalog /Pages 2 0 R >>")
		w.Object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
		w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /Im0 5 0 R >> >> >>")
		w.Stream(4, "", []byte("q 100 0 0 100 0 0 cm /Im0 Do Q"))
		w.Stream(5, "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8", data)
		w.EndRevision(pdftest.Section{Trailer: "/Root 1 0 R"})
		in := w.Bytes()
		first := signOnce(b, p, in, "Registrant")
		second := signOnce(b, p, first, "Counterparty")
		bp.path = filepath.Join(dir, fmt.Sprintf("signed-%dMiB.pdf", mb))
		bp.err = os.WriteFile(bp.path, second, 0o600)
		bp.root = p.Root.Cert
	})
	if bp.err != nil {
		b.Fatal(bp.err)
	}
	return bp.path, bp.root
}

func signOnce(tb testing.TB, p *testpki.PKI, in []byte, field string) []byte {
	var out bytes.Buffer
	err := signature.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, &signature.SignOptions{
		Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Field: field, SigningTime: testpki.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func benchValidateFile(b *testing.B, mb int) {
	path, root := signedFileOfSize(b, mb)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	opts := &signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{root}, Revocation: signature.RevocationOff}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := signature.Validate(context.Background(), f, st.Size(), opts)
		if err != nil || !rep.Passed {
			b.Fatalf("validation failed: %v %+v", err, rep)
		}
	}
}

func benchSHA256File(b *testing.B, mb int) {
	path, _ := signedFileOfSize(b, mb)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	buf := make([]byte, 256<<10)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		h := sha256.New()
		if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, st.Size()), buf); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPdfsigFile(b *testing.B, mb int) {
	pdfsig, err := exec.LookPath("pdfsig")
	if err != nil {
		b.Skip("pdfsig not found: install poppler-utils")
	}
	path, _ := signedFileOfSize(b, mb)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		// -nocert: pdfsig then checks only the digest and the signature
		// value, less than Validate does.
		out, err := exec.Command(pdfsig, "-nocert", "-no-ocsp", path).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("Signature is Valid")) {
			b.Fatalf("pdfsig: %v\n%s", err, out)
		}
	}
}

// The target: a 100 MB signed PDF validated as a stream within
// 1.25x of SHA-256 alone over the same file. The file has two signatures,
// so Validate hashes about twice its size (each signature covers the file
// up to its own revision); see the README for the comparison.
func BenchmarkValidate100MB(b *testing.B) { benchValidateFile(b, 100) }
func BenchmarkSHA256100MB(b *testing.B)   { benchSHA256File(b, 100) }
func BenchmarkPdfsig100MB(b *testing.B)   { benchPdfsigFile(b, 100) }

// Memory must not grow with the file: compare B/op with the 100 MB run.
func BenchmarkValidate10MB(b *testing.B) { benchValidateFile(b, 10) }

// contract50KB is a two-signature contract of about 50 KB, written once
// per process.
var (
	contractOnce sync.Once
	contractDoc  []byte
	contractPath string
	contractRoot *x509.Certificate
)

func contract50KB(b *testing.B) ([]byte, string, *x509.Certificate) {
	contractOnce.Do(func() {
		p := testpki.New(b)
		filler := make([]byte, 40<<10)
		rand.NewChaCha8([32]byte{2}).Read(filler)
		w := pdftest.New()
		w.Object(1, "<< /Type /Catalog /Pages 2 0 R >>")
		w.Object(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
		w.Object(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /Im0 5 0 R >> >> >>")
		w.Stream(4, "", []byte("q 100 0 0 100 0 0 cm /Im0 Do Q"))
		w.Stream(5, "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8", filler)
		w.EndRevision(pdftest.Section{Trailer: "/Root 1 0 R"})
		contractDoc = signOnce(b, p, signOnce(b, p, w.Bytes(), "Registrant"), "Counterparty")
		contractRoot = p.Root.Cert
		dir, err := benchTempDir()
		if err != nil {
			b.Fatal(err)
		}
		contractPath = filepath.Join(dir, "contract-50KB.pdf")
		if err := os.WriteFile(contractPath, contractDoc, 0o600); err != nil {
			b.Fatal(err)
		}
	})
	if contractDoc == nil {
		b.Fatal("building the benchmark contract failed")
	}
	return contractDoc, contractPath, contractRoot
}

// The target: at least 1,000 two-signature 50 KB contracts a
// second on one core (run with -cpu 1).
func BenchmarkValidateContract50KB(b *testing.B) {
	doc, _, root := contract50KB(b)
	opts := &signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{root}, Revocation: signature.RevocationOff}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := signature.Validate(context.Background(), bytes.NewReader(doc), int64(len(doc)), opts)
		if err != nil || !rep.Passed || len(rep.Signatures) != 2 {
			b.Fatalf("validation failed: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "contracts/s")
}

// The same through a long-lived Validator, as a service uses it: the
// trust-anchor pool is built once and verified paths are remembered.
func BenchmarkValidatorContract50KB(b *testing.B) {
	doc, _, root := contract50KB(b)
	val := signature.NewValidator(&signature.ValidateOptions{At: testpki.Now, TrustAnchors: []*x509.Certificate{root}, Revocation: signature.RevocationOff})
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := val.Validate(context.Background(), bytes.NewReader(doc), int64(len(doc)))
		if err != nil || !rep.Passed || len(rep.Signatures) != 2 {
			b.Fatalf("validation failed: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "contracts/s")
}

// pdfsig on the same contract, a process per file as it is used.
func BenchmarkPdfsigContract50KB(b *testing.B) {
	pdfsig, err := exec.LookPath("pdfsig")
	if err != nil {
		b.Skip("pdfsig not found: install poppler-utils")
	}
	_, path, _ := contract50KB(b)
	b.ResetTimer()
	for b.Loop() {
		out, err := exec.Command(pdfsig, "-nocert", "-no-ocsp", path).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("Signature is Valid")) {
			b.Fatalf("pdfsig: %v\n%s", err, out)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "contracts/s")
}

// Signing and extending a 100 MB PDF stream it: input from a file, output
// to io.Discard. B/op shows that memory does not follow the file size;
// compare ns/op with BenchmarkSHA256100MB (target: within 2x).
func BenchmarkSign100MB(b *testing.B) {
	path, _ := signedFileOfSize(b, 100)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	p := testpki.New(b)
	opts := &signature.SignOptions{Signer: p.ECDSAP256.Key, Certificate: p.ECDSAP256.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert}, Field: "Third", SigningTime: testpki.Now}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := signature.Sign(context.Background(), f, st.Size(), io.Discard, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddDocumentTimestamp100MB(b *testing.B) {
	path, _ := signedFileOfSize(b, 100)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	p := testpki.New(b)
	a, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer: p.TSA.Key, Certificate: p.TSA.Cert, Chain: []*x509.Certificate{p.Intermediate.Cert},
		Policy: testpki.PolicyOID, Clock: func() time.Time { return testpki.Now }, Serials: timestamp.NewMemorySerialStore(0),
	})
	if err != nil {
		b.Fatal(err)
	}
	opts := &signature.ExtendOptions{Timestamper: signature.AuthorityTimestamper(a)}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := signature.AddDocumentTimestamp(context.Background(), f, st.Size(), io.Discard, opts); err != nil {
			b.Fatal(err)
		}
	}
}
