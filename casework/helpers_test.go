package casework_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob/fileblob"

	"cloud.google.com/go/civil"

	"github.com/keiyaku/keiyaku/account"
	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/storage"
	"github.com/keiyaku/keiyaku/storage/sqlite"
)

// The tests use a stand-in for signed PDFs that a test validator can check
// for real: a document starts with "%PDF-", and each signature is a line
//
//	%%SIG <signer> <hex SHA-256 of every byte before this line>
//
// appended after what it signs, as an incremental update appends a PDF
// signature. The validator recomputes every hash, so a changed byte
// anywhere before a signature breaks it.

func pdf(content string) []byte { return []byte("%PDF-1.7\n" + content + "\n%%EOF\n") }

func sign(doc []byte, who string) []byte {
	sum := sha256.Sum256(doc)
	return append(bytes.Clone(doc), fmt.Sprintf("%%%%SIG %s %x\n", who, sum)...)
}

type testValidator struct {
	mu    sync.Mutex
	calls int
	// gate, when set, is waited on by Validate (to force an interleaving).
	gate chan struct{}
}

func (v *testValidator) Validate(ctx context.Context, r io.ReaderAt, size int64, opts *casework.ValidateOptions) (*casework.Verdict, error) {
	v.mu.Lock()
	v.calls++
	gate := v.gate
	v.mu.Unlock()
	if gate != nil {
		<-gate
	}
	data, err := io.ReadAll(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, err
	}
	verdict := &casework.Verdict{Passed: true}
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return &casework.Verdict{Unreadable: true, Reasons: []string{"not a PDF"}}, nil
	}
	var prior int64
	if opts != nil {
		prior = opts.PriorSize
	}
	onlyAllowed := prior > 0
	off := 0
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		start := off
		off += len(line)
		isSig := bytes.HasPrefix(line, []byte("%%SIG "))
		if isSig {
			f := strings.Fields(string(line))
			sum := sha256.Sum256(data[:start])
			passed := len(f) == 3 && f[2] == hex.EncodeToString(sum[:])
			if !passed {
				verdict.Passed = false
				verdict.Reasons = append(verdict.Reasons, fmt.Sprintf("signature at byte %d does not match the signed bytes", start))
			}
			verdict.Signatures++
			who := ""
			if len(f) > 1 {
				who = f[1]
			}
			verdict.Signers = append(verdict.Signers, casework.Signer{
				Field: fmt.Sprintf("Sig%d", verdict.Signatures), Revision: verdict.Signatures + 1,
				Added: prior == 0 || int64(start) >= prior, Passed: passed,
				Certificate: casework.Certificate{Subject: "CN=" + who, Issuer: "CN=Test CA", Serial: fmt.Sprint(verdict.Signatures), SHA256: certOf(who)},
			})
		}
		if prior > 0 && int64(start) >= prior {
			if isSig {
				verdict.AddedSignatures++
			} else if len(line) > 0 {
				onlyAllowed = false
				verdict.Reasons = append(verdict.Reasons, fmt.Sprintf("content other than a signature added at byte %d", start))
			}
		}
	}
	verdict.OnlyAllowedChanges = onlyAllowed
	return verdict, nil
}

// certOf is the stand-in fingerprint of the certificate signer who signs
// with; newEnv registers certOf(co) to each company co.
func certOf(who string) string {
	sum := sha256.Sum256([]byte("certificate of " + who))
	return hex.EncodeToString(sum[:])
}

// testSealer appends a seal line (standing in for DSS + document timestamp)
// and "stamps" a file with the hash of its bytes.
type testSealer struct{}

func (testSealer) SealPDF(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) error {
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), io.NewSectionReader(r, 0, size)); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%%%%SEAL %x\n", h.Sum(nil))
	return err
}

func (testSealer) SealFile(ctx context.Context, r io.Reader) ([]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return []byte(fmt.Sprintf("TST %x", h.Sum(nil))), nil
}

type env struct {
	svc   *casework.Service
	store *sqlite.Store
	blobs *storage.Blobs
	dir   string
	tmp   string // casework's TempDir
	val   *testValidator
	now   time.Time
	mu    sync.Mutex
}

var (
	// 株式会社ケイヤク (co1) registers; u1 is a user, u1b another user, admin1 its administrator.
	u1     = account.Principal{UserID: "u1", CompanyID: "co1", RemoteAddr: "192.0.2.1"}
	u1b    = account.Principal{UserID: "u1b", CompanyID: "co1"}
	admin1 = account.Principal{UserID: "admin1", CompanyID: "co1", Admin: true}
	u2     = account.Principal{UserID: "u2", CompanyID: "co2", RemoteAddr: "198.51.100.2"}
	admin2 = account.Principal{UserID: "admin2", CompanyID: "co2", Admin: true}
	u3     = account.Principal{UserID: "u3", CompanyID: "co3"}
	u4     = account.Principal{UserID: "u4", CompanyID: "co4"}
	out    = account.Principal{UserID: "x9", CompanyID: "co9", Admin: true}
)

func newEnv(t *testing.T) *env { return newEnvTB(t) }

func newEnvTB(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "keiyaku.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobDir := t.TempDir()
	bucket, err := fileblob.OpenBucket(blobDir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: st, blobs: storage.NewBlobs(bucket), val: &testValidator{}, now: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	e.dir = blobDir
	e.tmp = t.TempDir()
	t.Cleanup(func() { e.blobs.Close() })
	langs := map[string]string{"u1": "ja", "u1b": "ja", "admin1": "ja", "u2": "en", "admin2": "ja", "u3": "en", "u4": "ja"}
	for _, co := range []string{"co1", "co2", "co3", "co4", "co9"} {
		rc := storage.SignerCert{ID: "sc-" + co, CertSHA256: certOf(co), Subject: "CN=" + co}
		if err := st.PutCompany(ctx, &storage.Company{ID: co, Name: companyNames[co], SignerCerts: []storage.SignerCert{rc}}, auditFor("company.create")); err != nil {
			t.Fatal(err)
		}
	}
	for uid, lang := range langs {
		co := "co" + strings.TrimPrefix(strings.TrimPrefix(strings.TrimSuffix(uid, "b"), "admin"), "u")
		if err := st.PutUser(ctx, &storage.User{ID: uid, CompanyID: co, LoginID: uid, Profile: storage.Profile{Language: lang, Name: "User " + uid, Email: uid + "@example.jp"}}, auditFor("user.create")); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	e.svc, err = casework.New(casework.Config{
		Store: st, Blobs: e.blobs, Validator: e.val, Sealer: testSealer{},
		Clock:   func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); e.now = e.now.Add(time.Second); return e.now },
		NewID:   func() string { e.mu.Lock(); defer e.mu.Unlock(); n++; return fmt.Sprintf("id-%04d", n) },
		TempDir: e.tmp,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func auditFor(action string) []storage.AuditEntry {
	return []storage.AuditEntry{{Time: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), ActorUserID: "setup", Action: action}}
}

// companyNames are the directory's names of the companies.
var companyNames = map[string]string{"co1": "会社1", "co2": "株式会社アルファ", "co3": "ベータ工業", "co4": "ガンマ商事", "co9": "会社9"}

var (
	partyCo2 = casework.Party{CompanyID: "co2", CompanyName: "株式会社アルファ", UserID: "u2"}
	partyCo3 = casework.Party{CompanyID: "co3", CompanyName: "ベータ工業", UserID: "u3"}
	partyCo4 = casework.Party{CompanyID: "co4", CompanyName: "ガンマ商事", UserID: "u4"}
)

func newCase(form casework.Form, doc []byte, parties ...casework.Party) *casework.NewCase {
	if len(parties) == 0 {
		parties = []casework.Party{partyCo2}
	}
	return &casework.NewCase{
		Form: form, Name: "業務委託契約", OrderNumber: "PO-1", Amount: casework.Money{Amount: 1_100_000, Currency: "JPY"},
		TransactionDate: civil.Date{Year: 2026, Month: 3, Day: 31},
		Parties:         parties,
		Document:        casework.Upload{Name: "contract.pdf", ContentType: "application/pdf", Body: bytes.NewReader(doc)},
		Supplements:     []casework.Upload{{Name: "仕様書.xlsx", Body: strings.NewReader("spec")}},
	}
}

func upload(b []byte) casework.Upload {
	return casework.Upload{Name: "signed.pdf", ContentType: "application/pdf", Body: bytes.NewReader(b)}
}

// receive downloads the case as p and returns the bytes, read to the end.
func receive(t *testing.T, e *env, p account.Principal, id string) []byte {
	t.Helper()
	r, _, err := e.svc.Receive(context.Background(), p, id)
	if err != nil {
		t.Fatalf("Receive as %s: %v", p.UserID, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// events returns the outbox as "type>user/lang" strings, in order.
func events(t *testing.T, e *env) []string {
	t.Helper()
	evs, err := e.store.DueEvents(context.Background(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%s>%s/%s", ev.Type, strings.Join(ev.Recipients, ","), ev.Language))
	}
	return out
}
