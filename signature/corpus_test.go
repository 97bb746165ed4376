package signature_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/signature"
)

// The manifest of ../shared/corpus: real signed PDFs from EU DSS, pyHanko
// and pdfcpu with the outcomes their authors assert (see its README.md).
type corpusEntry struct {
	File     string `json:"file"`
	Category string `json:"category"`
	Expect   struct {
		Parseable          *bool             `json:"parseable"`
		SignatureCount     *int              `json:"signature_count"`
		DocTimestampCount  *int              `json:"doc_timestamp_count"`
		ValidSigCount      *int              `json:"valid_signature_count"`
		DocumentIndication string            `json:"document_indication"`
		PAdESLevel         string            `json:"pades_level"`
		ValidationTime     string            `json:"validation_time"`
		PerSignature       []corpusSigExpect `json:"per_signature"`
		MustFinishWithinMS int               `json:"must_finish_within_ms"`
	} `json:"expect"`
	Trust *struct {
		Anchors       []string `json:"anchors"`
		Intermediates []string `json:"intermediates"`
	} `json:"trust"`
}

type corpusSigExpect struct {
	Which         string `json:"which"`
	CryptoIntact  *bool  `json:"crypto_intact"`
	Coverage      string `json:"coverage"`
	Modification  string `json:"modification"`
	Indication    string `json:"indication"`
	SubIndication string `json:"sub_indication"`
	IndicationNot string `json:"indication_not"`
	Trusted       *bool  `json:"trusted"`
	BottomLine    *bool  `json:"bottom_line"`
	ValidationErr string `json:"validation_error"`
}

// knownDeviations lists the corpus expectations this validator does not
// share, each with the reason. The test fails if such an expectation starts
// to hold (so the list stays true) and for every other mismatch.
var knownDeviations = map[string]string{
	"pdf/dss/dss-PLAIN-ECDSA/TeleSec_PKS_eIDAS_QES_CA_1-baseline-b.pdf: sig#1 crypto_intact: got false, want true": "the signer key is on a brainpool curve, which Go's crypto/x509 and crypto/ecdsa do not support; the signature is reported INDETERMINATE/NO_SIGNING_CERTIFICATE_FOUND with that reason",
}

func loadCorpus(t *testing.T) (string, []corpusEntry) {
	dir := testenv.Corpus(t)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("reading the corpus manifest: %v", err)
	}
	var entries []corpusEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatalf("decoding the corpus manifest: %v", err)
	}
	return dir, entries
}

func readPEMs(t *testing.T, dir string, names []string) []*x509.Certificate {
	var out []*x509.Certificate
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatalf("trust anchor: %v", err)
		}
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatalf("trust anchor %s: %v", n, err)
			}
			out = append(out, c)
		}
	}
	return out
}

func TestCorpus(t *testing.T) {
	dir, entries := loadCorpus(t)
	if len(entries) == 0 {
		t.Fatal("the corpus manifest lists no file")
	}
	seen := map[string]bool{}
	t.Cleanup(func() {
		for k := range knownDeviations {
			if !seen[k] && !t.Failed() {
				t.Errorf("known deviation no longer happens, remove it from the list: %s", k)
			}
		}
	})
	for _, ce := range entries {
		t.Run(strings.TrimPrefix(ce.File, "pdf/"), func(t *testing.T) {
			opts := &signature.ValidateOptions{Revocation: signature.RevocationSoftFail}
			if ce.Expect.ValidationTime != "" {
				at, err := time.Parse(time.RFC3339, ce.Expect.ValidationTime)
				if err != nil {
					t.Fatal(err)
				}
				opts.At = at
			}
			if ce.Trust != nil {
				opts.TrustAnchors = readPEMs(t, dir, ce.Trust.Anchors)
				opts.Intermediates = readPEMs(t, dir, ce.Trust.Intermediates)
			}
			f, err := os.Open(filepath.Join(dir, ce.File))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			start := time.Now()
			rep, err := signature.Validate(context.Background(), f, st.Size(), opts)
			if err != nil {
				t.Fatalf("Validate returned an error (it must report document problems, not return them): %v", err)
			}
			if ms := ce.Expect.MustFinishWithinMS; ms > 0 && time.Since(start) > 10*time.Duration(ms)*time.Millisecond {
				// Generous: a hang guard, not a speed test.
				t.Errorf("validation took %v, the upstream bound is %d ms", time.Since(start), ms)
			}
			for _, problem := range checkCorpusEntry(ce, rep) {
				key := ce.File + ": " + problem
				if why, ok := knownDeviations[key]; ok {
					t.Logf("known deviation: %s (%s)", problem, why)
					seen[key] = true
					continue
				}
				t.Error(problem)
			}
			if t.Failed() {
				t.Logf("report:\n%s", dumpReport(rep))
			}
		})
	}
}

func dumpReport(rep *signature.Report) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "passed=%v level=%s revisions=%d error=%q\n", rep.Passed, rep.Level, rep.Revisions, rep.Error)
	for i, s := range rep.Signatures {
		fmt.Fprintf(&sb, "  #%d %s %s %s rev=%d %s/%s intact=%v cov=%s mod=%s level=%s br=%v\n", i+1, s.Field, s.Kind, s.SubFilter, s.Revision, s.Indication, s.SubIndication, s.CryptoIntact, s.Coverage, s.Modification, s.Level, s.ByteRange)
		for _, r := range s.Reasons {
			fmt.Fprintf(&sb, "      - %s\n", r)
		}
	}
	return sb.String()
}

// checkCorpusEntry compares a report with every portable expectation of a
// manifest entry and returns the mismatches.
func checkCorpusEntry(ce corpusEntry, rep *signature.Report) []string {
	var problems []string
	ex := ce.Expect
	var sigs, docTS []*signature.SignatureReport
	for _, s := range rep.Signatures {
		if s.Kind == signature.KindSignature {
			sigs = append(sigs, s)
		} else {
			docTS = append(docTS, s)
		}
	}
	if ex.Parseable != nil && *ex.Parseable && rep.Error != "" {
		problems = append(problems, "parseable: the file did not parse: "+rep.Error)
	}
	if ex.DocumentIndication == "NO_SIGNATURE_FOUND" {
		// DSS drops a signature whose CMS it cannot decode. keiyaku never
		// drops one silently: it must be reported, and failed.
		for _, s := range sigs {
			if s.Indication != signature.TotalFailed || s.SubIndication != signature.FormatFailure {
				problems = append(problems, fmt.Sprintf("NO_SIGNATURE_FOUND: signature %q is %s/%s, want TOTAL_FAILED/FORMAT_FAILURE", s.Field, s.Indication, s.SubIndication))
			}
		}
		if rep.Passed {
			problems = append(problems, "NO_SIGNATURE_FOUND: the document passed")
		}
	} else if ex.SignatureCount != nil && len(sigs) != *ex.SignatureCount {
		problems = append(problems, fmt.Sprintf("signature_count: got %d, want %d", len(sigs), *ex.SignatureCount))
	}
	if ex.DocTimestampCount != nil && len(docTS) != *ex.DocTimestampCount {
		problems = append(problems, fmt.Sprintf("doc_timestamp_count: got %d, want %d", len(docTS), *ex.DocTimestampCount))
	}
	if ex.ValidSigCount != nil {
		n := 0
		for _, s := range sigs {
			if s.Indication == signature.TotalPassed {
				n++
			}
		}
		if n != *ex.ValidSigCount {
			problems = append(problems, fmt.Sprintf("valid_signature_count: got %d, want %d", n, *ex.ValidSigCount))
		}
	}
	if ex.PAdESLevel != "" && string(rep.Level) != ex.PAdESLevel {
		problems = append(problems, fmt.Sprintf("pades_level: got %s, want %s", rep.Level, ex.PAdESLevel))
	}
	var oneOf []corpusSigExpect
	for _, ps := range ex.PerSignature {
		switch {
		case ps.Which == "all":
			if len(sigs) == 0 {
				problems = append(problems, "per_signature all: no signature found")
			}
			for i, s := range sigs {
				problems = append(problems, matchSig(fmt.Sprintf("sig#%d", i+1), ps, s)...)
			}
		case ps.Which == "one_of":
			oneOf = append(oneOf, ps)
		case ps.Which == "dss_first_signature" || strings.HasPrefix(ps.Which, "sig#"):
			n := 1
			if ps.Which != "dss_first_signature" {
				fmt.Sscanf(ps.Which, "sig#%d", &n)
			}
			if n < 1 || n > len(sigs) {
				problems = append(problems, fmt.Sprintf("%s: only %d signatures found", ps.Which, len(sigs)))
				continue
			}
			problems = append(problems, matchSig(ps.Which, ps, sigs[n-1])...)
		default:
			problems = append(problems, "unknown per_signature selector "+ps.Which)
		}
	}
	if len(oneOf) > 0 {
		problems = append(problems, matchUnordered(oneOf, sigs)...)
	}
	return problems
}

// matchUnordered pairs unordered expectations with signatures one to one.
func matchUnordered(exps []corpusSigExpect, sigs []*signature.SignatureReport) []string {
	if len(exps) > len(sigs) {
		return []string{fmt.Sprintf("one_of: %d expectations but %d signatures", len(exps), len(sigs))}
	}
	used := make([]bool, len(sigs))
	var try func(i int) bool
	try = func(i int) bool {
		if i == len(exps) {
			return true
		}
		for j, s := range sigs {
			if !used[j] && len(matchSig("", exps[i], s)) == 0 {
				used[j] = true
				if try(i + 1) {
					return true
				}
				used[j] = false
			}
		}
		return false
	}
	if try(0) {
		return nil
	}
	return []string{"one_of: no assignment of the unordered expectations to the signatures holds"}
}

func matchSig(which string, ps corpusSigExpect, s *signature.SignatureReport) []string {
	var p []string
	bad := func(what string, got, want any) {
		p = append(p, fmt.Sprintf("%s %s: got %v, want %v", which, what, got, want))
	}
	if ps.CryptoIntact != nil && s.CryptoIntact != *ps.CryptoIntact {
		bad("crypto_intact", s.CryptoIntact, *ps.CryptoIntact)
	}
	if ps.Coverage != "" && string(s.Coverage) != ps.Coverage {
		bad("coverage", s.Coverage, ps.Coverage)
	}
	if ps.Modification != "" && string(s.Modification) != ps.Modification {
		bad("modification", s.Modification, ps.Modification)
	}
	if ps.Indication != "" && string(s.Indication) != ps.Indication {
		bad("indication", s.Indication, ps.Indication)
	}
	if ps.SubIndication != "" && string(s.SubIndication) != ps.SubIndication {
		bad("sub_indication", s.SubIndication, ps.SubIndication)
	}
	switch ps.IndicationNot {
	case "":
	case "FAILED":
		if s.Indication == signature.TotalFailed {
			bad("indication (must not be failed)", s.Indication, "not TOTAL_FAILED")
		}
	default:
		if string(s.Indication) == ps.IndicationNot {
			bad("indication", s.Indication, "not "+ps.IndicationNot)
		}
	}
	if ps.Trusted != nil && (len(s.Chain) > 0) != *ps.Trusted {
		bad("trusted (chain to the anchor)", len(s.Chain) > 0, *ps.Trusted)
	}
	if ps.BottomLine != nil && (s.Indication == signature.TotalPassed) != *ps.BottomLine {
		bad("bottom_line (TOTAL_PASSED)", s.Indication, *ps.BottomLine)
	}
	if ps.ValidationErr != "" && s.Indication == signature.TotalPassed {
		bad("validation_error", s.Indication, "an error: "+ps.ValidationErr)
	}
	return p
}
