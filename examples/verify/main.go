// Command verify validates the signatures of PDF files and prints the
// verdict, for people (text) or for other tools (-json, one object a line).
//
//	go run ./examples/verify [-trust FILE.pem]... [-at RFC3339]
//	    [-revocation off|soft-fail|hard-fail] [-online] [-crl F]... [-ocsp F]... [-json] FILE...
//
// -crl and -ocsp give CRLs and OCSP responses beside what the files embed
// (an offline or in-house PKI): with -revocation hard-fail and without
// -online, a signature passes only when every certificate of its path
// has a status in the files or in them.
//
// Exit status: 0 when every file passed (and for -h), 1 when any did not,
// 2 on usage errors or files that cannot be read or are not PDFs.
//
// The PAdES level shown is the level proven: a signature whose timestamp
// is there but not trusted is shown at B-B, with the reason.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/signature"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var trust multiFlag
	fs.Var(&trust, "trust", "PEM file of trust anchors (repeatable)")
	at := fs.String("at", "", "validation time, RFC 3339 (default now)")
	rev := fs.String("revocation", "soft-fail", "revocation policy: off, soft-fail or hard-fail")
	online := fs.Bool("online", false, "fetch OCSP responses and CRLs over the network")
	var crlFiles, ocspFiles multiFlag
	fs.Var(&crlFiles, "crl", "CRL file (DER or PEM) to check revocation with, beside what the files embed (repeatable)")
	fs.Var(&ocspFiles, "ocsp", "DER OCSP response file to check revocation with (repeatable)")
	asJSON := fs.Bool("json", false, "print one JSON object per file, one per line")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: verify [-trust FILE.pem]... [-at RFC3339] [-revocation off|soft-fail|hard-fail] [-online] [-crl F]... [-ocsp F]... [-json] FILE...")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	fs.Usage = func() {} // printed below, to stdout for -h
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		usage(stderr)
		return 2
	}
	if fs.NArg() == 0 {
		usage(stderr)
		return 2
	}
	policy, err := signature.ParseRevocationPolicy(*rev)
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		return 2
	}
	opts := &signature.ValidateOptions{Revocation: policy, Online: *online}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "verify: -at %q is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)\n", *at)
			return 2
		}
		opts.At = t
	}
	for _, f := range crlFiles {
		der, err := pemfile.CRL(f)
		if err != nil {
			fmt.Fprintln(stderr, "verify:", err)
			return 2
		}
		opts.CRLs = append(opts.CRLs, der)
	}
	for _, f := range ocspFiles {
		der, err := pemfile.OCSPResponse(f)
		if err != nil {
			fmt.Fprintln(stderr, "verify:", err)
			return 2
		}
		opts.OCSPs = append(opts.OCSPs, der)
	}
	for _, f := range trust {
		certs, err := pemfile.Certificates(f)
		if err != nil {
			fmt.Fprintln(stderr, "verify:", err)
			return 2
		}
		opts.TrustAnchors = append(opts.TrustAnchors, certs...)
	}
	status := 0
	for _, name := range fs.Args() {
		res := verifyFile(name, opts)
		if *asJSON {
			b, _ := json.Marshal(res)
			fmt.Fprintf(stdout, "%s\n", b)
		} else {
			printText(stdout, res)
		}
		switch {
		case res.unreadable || res.notPDF:
			status = 2
		case !res.Passed && status == 0:
			status = 1
		}
	}
	return status
}

// fileResult is the JSON contract of -json: the names are relied on by
// other tools and must not change.
type fileResult struct {
	File       string      `json:"file"`
	SHA256     string      `json:"sha256"`
	Size       int64       `json:"size"`
	Passed     bool        `json:"passed"`
	Error      string      `json:"error,omitempty"`
	PAdESLevel string      `json:"pades_level"`
	Signatures []sigResult `json:"signatures"`

	unreadable bool
	notPDF     bool // read, but not parsed as a PDF (Report.Error)
	report     *signature.Report
}

type sigResult struct {
	Field              string      `json:"field"`
	Kind               string      `json:"kind"`
	SubFilter          string      `json:"sub_filter"`
	Revision           int         `json:"revision"`
	Indication         string      `json:"indication"`
	SubIndication      string      `json:"sub_indication"`
	CryptoIntact       bool        `json:"crypto_intact"`
	Coverage           string      `json:"coverage"`
	Modification       string      `json:"modification"`
	PAdESLevel         string      `json:"pades_level"`
	Signer             *signerJSON `json:"signer"`
	ClaimedSigningTime *time.Time  `json:"claimed_signing_time"`
	Timestamp          *tsJSON     `json:"timestamp"`
	Reasons            []string    `json:"reasons"`
}

type signerJSON struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

type tsJSON struct {
	Time time.Time `json:"time"`
	TSA  string    `json:"tsa"`
}

func verifyFile(name string, opts *signature.ValidateOptions) *fileResult {
	res := &fileResult{File: name, Signatures: []sigResult{}, PAdESLevel: string(signature.LevelNone)}
	f, err := os.Open(name)
	if err != nil {
		res.Error, res.unreadable = err.Error(), true
		return res
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		res.Error, res.unreadable = err.Error(), true
		return res
	}
	res.Size = st.Size()
	// The file's SHA-256 is computed while it is validated, on the other
	// core: both only read (ReadAt), and each is about one pass over it.
	type sum struct {
		hex string
		err error
	}
	sumc := make(chan sum, 1)
	go func() {
		h := sha256.New()
		_, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size()))
		sumc <- sum{hex.EncodeToString(h.Sum(nil)), err}
	}()
	rep, err := signature.Validate(context.Background(), f, st.Size(), opts)
	hs := <-sumc
	if hs.err != nil {
		res.Error, res.unreadable = hs.err.Error(), true
		return res
	}
	res.SHA256 = hs.hex
	if err != nil {
		res.Error, res.unreadable = err.Error(), true
		return res
	}
	res.report = rep
	res.Passed = rep.Passed
	res.Error = rep.Error
	res.notPDF = rep.Error != ""
	res.PAdESLevel = string(fileLevel(rep))
	for _, s := range rep.Signatures {
		sr := sigResult{
			Field: s.Field, Kind: string(s.Kind), SubFilter: s.SubFilter, Revision: s.Revision,
			Indication: string(s.Indication), SubIndication: string(s.SubIndication),
			CryptoIntact: s.CryptoIntact, Coverage: string(s.Coverage), Modification: string(s.Modification),
			PAdESLevel: string(provenLevel(s)), Reasons: s.Reasons,
		}
		if sr.Reasons == nil {
			sr.Reasons = []string{}
		}
		if s.Signer != nil {
			sr.Signer = &signerJSON{Subject: s.Signer.Subject, Issuer: s.Signer.Issuer, Serial: s.Signer.Serial, NotBefore: s.Signer.NotBefore, NotAfter: s.Signer.NotAfter}
		}
		if !s.ClaimedSigningTime.IsZero() {
			t := s.ClaimedSigningTime
			sr.ClaimedSigningTime = &t
		}
		if s.Timestamp != nil {
			sr.Timestamp = &tsJSON{Time: s.Timestamp.Time, TSA: s.Timestamp.TSA}
		}
		res.Signatures = append(res.Signatures, sr)
	}
	return res
}

func printText(w io.Writer, res *fileResult) {
	fmt.Fprintf(w, "%s\n", res.File)
	if res.unreadable {
		fmt.Fprintf(w, "  cannot be read: %s\n\n", res.Error)
		return
	}
	fmt.Fprintf(w, "  SHA-256 %s, %d bytes\n", res.SHA256, res.Size)
	if res.Error != "" {
		fmt.Fprintf(w, "  %s\n", res.Error)
	}
	rep := res.report
	if len(rep.Signatures) == 0 {
		fmt.Fprintf(w, "  no signatures found\n")
	}
	for i, s := range rep.Signatures {
		what := "Signature"
		if s.Kind == signature.KindDocumentTimestamp {
			what = "Document timestamp"
		}
		fmt.Fprintf(w, "\n  %s #%d, field %q (%s, revision %d)\n", what, i+1, s.Field, s.SubFilter, s.Revision)
		verdict := string(s.Indication)
		if s.SubIndication != "" {
			verdict += " / " + string(s.SubIndication)
		}
		fmt.Fprintf(w, "    Verdict:       %s\n", verdict)
		if s.Signer != nil {
			fmt.Fprintf(w, "    Signed by:     %s\n", s.Signer.Subject)
			fmt.Fprintf(w, "    Issued by:     %s\n", s.Signer.Issuer)
			fmt.Fprintf(w, "    Serial:        %s\n", s.Signer.Serial)
			fmt.Fprintf(w, "    Valid:         %s to %s\n", s.Signer.NotBefore.Format(time.RFC3339), s.Signer.NotAfter.Format(time.RFC3339))
			if len(s.Signer.KeyUsage) > 0 {
				fmt.Fprintf(w, "    Key usage:     %s\n", strings.Join(s.Signer.KeyUsage, ", "))
			}
			if len(s.Signer.Policies) > 0 {
				fmt.Fprintf(w, "    Policies:      %s\n", strings.Join(s.Signer.Policies, ", "))
			}
			if alt := append(append(append([]string{}, s.Signer.DNSNames...), s.Signer.EmailAddresses...), s.Signer.URIs...); len(alt) > 0 {
				fmt.Fprintf(w, "    Alt. names:    %s\n", strings.Join(alt, ", "))
			}
		}
		if !s.ClaimedSigningTime.IsZero() {
			fmt.Fprintf(w, "    Claimed time:  %s (the signer's claim, not proven)\n", s.ClaimedSigningTime.Format(time.RFC3339))
		}
		if s.Timestamp != nil {
			fmt.Fprintf(w, "    Timestamp:     %s by %s\n", s.Timestamp.Time.Format(time.RFC3339), s.Timestamp.TSA)
		}
		fmt.Fprintf(w, "    Integrity:     %s\n", yesNo(s.CryptoIntact, "the signed bytes are unchanged and the signature value verifies", "NOT intact"))
		fmt.Fprintf(w, "    Coverage:      %s\n", s.Coverage)
		fmt.Fprintf(w, "    Modification:  %s\n", s.Modification)
		if lv := provenLevel(s); lv != s.Level {
			fmt.Fprintf(w, "    PAdES level:   %s (the file has the form of %s, but no trusted timestamp proves when it was signed)\n", lv, s.Level)
		} else {
			fmt.Fprintf(w, "    PAdES level:   %s\n", lv)
		}
		fmt.Fprintf(w, "    Revocation:    %s\n", s.Revocation)
		for _, r := range s.Reasons {
			fmt.Fprintf(w, "    - %s\n", r)
		}
	}
	verdict := "PASSED: every signature is valid"
	if !rep.Passed {
		verdict = "NOT PASSED"
		if len(rep.Signatures) == 0 {
			verdict += ": the file has no signature"
		}
	}
	fmt.Fprintf(w, "\n  %s (PAdES level %s)\n\n", verdict, fileLevel(rep))
}

// provenLevel is the level a signature's report proves: a level of B-T or
// above rests on a timestamp, so without a trusted one (Timestamp nil:
// its TSA is not trusted, or no token verified) the level proven is B-B.
func provenLevel(s *signature.SignatureReport) signature.Level {
	switch s.Level {
	case signature.LevelBT, signature.LevelBLT, signature.LevelBLTA:
		if s.Timestamp == nil {
			return signature.LevelBB
		}
	}
	return s.Level
}

// fileLevel is the weakest proven level of the file's signatures
// (document timestamps excluded), as Report.Level is of their levels.
func fileLevel(rep *signature.Report) signature.Level {
	rank := map[signature.Level]int{signature.LevelBB: 1, signature.LevelBT: 2, signature.LevelBLT: 3, signature.LevelBLTA: 4}
	level := signature.Level("")
	for _, s := range rep.Signatures {
		if s.Kind != signature.KindSignature {
			continue
		}
		if lv := provenLevel(s); level == "" || rank[lv] < rank[level] {
			level = lv
		}
	}
	if level == "" {
		return signature.LevelNone
	}
	return level
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
