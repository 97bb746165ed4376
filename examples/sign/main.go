// Command sign signs PDFs with a PAdES signature, as an incremental update,
// at level B-B, B-T, B-LT or B-LTA, with a key in PEM files, a PKCS#12
// file or a PKCS#11 token (IC card, USB token, HSM).
//
//	go run ./examples/sign KEY [-level B-B|B-T|B-LT|B-LTA] [-tsa URL] [-field NAME]
//	    [-reason TEXT] [-location TEXT] [-contact TEXT] [-name TEXT] [-certify 1|2|3]
//	    [-visible PAGE,X1,Y1,X2,Y2 [-text TEXT] [-font F.ttf|none] [-image SEAL.png]] [-pss] in.pdf out.pdf
//	go run ./examples/sign KEY [options] -out-dir DIR [-jobs N] (in.pdf|DIR|@LIST)...
//
// where KEY is one of
//
//	-key K.pem -cert C.pem [-chain F.pem]
//	-p12 F.p12 [-password-file F]
//	-pkcs11-module LIB.so (-pkcs11-token LABEL | -pkcs11-slot N)
//	    (-pkcs11-key LABEL | -pkcs11-key-id HEX) (-pin-file F | -pin-env VAR)
//	    [-pkcs11-chain-label LABEL]... [-cert C.pem] [-chain F.pem]
//
// The PIN of a token comes from a file or an environment variable, never a
// flag. Without -cert the certificate is read from the token (same ID or
// label as the key). PKCS#12 files may use the modern encryption (AES-256,
// PBKDF2: openssl pkcs12 -export) or the legacy one (3DES, RC2: -legacy).
//
// A visible signature (-visible) shows -text, or the signer's company, name
// and the signing date in Japanese, drawn with an embedded subset of -font
// (default: IPAex Gothic from Debian's fonts-ipaexfont) and, with -image, a
// PNG such as a seal impression.
//
// B-T and above need -tsa (an RFC 3161 server). B-LT adds a Document
// Security Store with the chains and OCSP responses or CRLs: those given
// with -ocsp F and -crl F (repeatable; DER, or PEM "X509 CRL"), then
// those fetched online unless -offline; B-LTA then adds a document
// timestamp. With an offline or in-house PKI, give a CRL or OCSP response
// for every certificate of the signer's and the TSA's chains below the
// root; when one is missing, sign refuses and names the certificate.
//
// With -out-dir, every PDF named (every *.pdf in a directory named, every
// path listed one a line in a file named @LIST) is
// signed into DIR under its own name, -jobs at a time, with one key (one
// PIN, one token login), a progress bar on standard error and a summary;
// a file that fails does not stop the others.
//
// Each output is written to a temporary file beside it and renamed into
// place only when every step succeeded; on success sign prints the path,
// size, level and signature field of each file written. Exit status: 0 on
// success, 1 when signing failed (in batch mode: any file), 2 on usage
// errors, a key that cannot be loaded, or an input that cannot be read or
// is not a PDF. -h prints this usage and exits 0.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks errors that exit 2: the command line, the key, or an
// input file that cannot be read or is not a PDF.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

const usageText = `usage: sign KEY [options] in.pdf out.pdf
       sign KEY [options] -out-dir DIR [-jobs N] (in.pdf|DIR|@LIST)...
KEY:   -key K.pem -cert C.pem [-chain F.pem]
       -p12 F.p12 [-password-file F]
       -pkcs11-module LIB.so (-pkcs11-token LABEL | -pkcs11-slot N) (-pkcs11-key LABEL | -pkcs11-key-id HEX)
           (-pin-file F | -pin-env VAR) [-pkcs11-chain-label LABEL]...
Exit status: 0 signed, 1 signing failed, 2 usage error, bad key or unreadable input.`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var kf keyFlags
	fs.StringVar(&kf.key, "key", "", "PEM private key (PKCS#8, PKCS#1 or SEC 1)")
	fs.StringVar(&kf.cert, "cert", "", "PEM signer certificate")
	fs.StringVar(&kf.chain, "chain", "", "PEM intermediate (and root) certificates")
	fs.StringVar(&kf.p12, "p12", "", "PKCS#12 file with key, certificate and chain")
	fs.StringVar(&kf.pwFile, "password-file", "", "file whose first line is the PKCS#12 password (default empty)")
	fs.StringVar(&kf.module, "pkcs11-module", "", "PKCS#11 library of the token or HSM (.so)")
	fs.StringVar(&kf.token, "pkcs11-token", "", "token label")
	fs.IntVar(&kf.slot, "pkcs11-slot", -1, "token slot ID (instead of -pkcs11-token)")
	fs.StringVar(&kf.keyLabel, "pkcs11-key", "", "key label (CKA_LABEL)")
	fs.StringVar(&kf.keyID, "pkcs11-key-id", "", "key ID (CKA_ID) in hexadecimal")
	fs.Func("pkcs11-chain-label", "label of a chain certificate on the token (repeatable)", func(s string) error {
		kf.chainLabels = append(kf.chainLabels, s)
		return nil
	})
	fs.StringVar(&kf.pinFile, "pin-file", "", "file whose first line is the token's user PIN")
	fs.StringVar(&kf.pinEnv, "pin-env", "", "environment variable that holds the token's user PIN")
	level := fs.String("level", "B-B", "PAdES level: B-B, B-T, B-LT or B-LTA")
	tsa := fs.String("tsa", "", "RFC 3161 timestamp server URL (needed from B-T up)")
	field := fs.String("field", "", "signature field name (default Signature<n>)")
	reason := fs.String("reason", "", "reason for signing")
	location := fs.String("location", "", "where the signing took place")
	contact := fs.String("contact", "", "signer contact information")
	name := fs.String("name", "", "signer name")
	certify := fs.Int("certify", 0, "make a certification signature with DocMDP P=1, 2 or 3")
	visible := fs.String("visible", "", "visible widget as PAGE,X1,Y1,X2,Y2 (points)")
	text := fs.String("text", "", "text of the visible widget (\\n separates lines)")
	fontPath := fs.String("font", signature.DefaultFontPath, "TrueType font for the visible widget, embedded as a subset; \"none\" uses the non-embedded HeiseiKakuGo-W5")
	imagePath := fs.String("image", "", "PNG drawn in the visible widget, e.g. a seal impression (印影); transparency kept")
	pss := fs.Bool("pss", false, "use RSASSA-PSS for RSA keys")
	var crlFiles, ocspFiles []string
	fs.Func("crl", "CRL file (DER or PEM) to embed for B-LT/B-LTA (repeatable)", func(s string) error { crlFiles = append(crlFiles, s); return nil })
	fs.Func("ocsp", "DER OCSP response file to embed for B-LT/B-LTA (repeatable)", func(s string) error { ocspFiles = append(ocspFiles, s); return nil })
	offline := fs.Bool("offline", false, "B-LT/B-LTA: use only the certificates and -crl/-ocsp files given, fetch nothing")
	outDir := fs.String("out-dir", "", "batch mode: sign every input into this directory")
	jobs := fs.Int("jobs", 0, "batch mode: files signed at once (default: the number of CPUs; with a token, -pkcs11-sessions)")
	fs.IntVar(&kf.sessions, "pkcs11-sessions", 0, "signatures the token computes at once (default 1; raise for an HSM)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if *outDir == "" && fs.NArg() != 2 || *outDir != "" && fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	err := func() error {
		lvl := signature.Level(strings.ToUpper(*level))
		var ts signature.Timestamper
		switch lvl {
		case signature.LevelBB:
		case signature.LevelBT, signature.LevelBLT, signature.LevelBLTA:
			if *tsa == "" {
				return usageError{fmt.Errorf("-level %s needs -tsa URL", lvl)}
			}
			ts = &timestamp.Client{URL: *tsa}
		default:
			return usageError{fmt.Errorf("-level %q: want B-B, B-T, B-LT or B-LTA", *level)}
		}
		var app *signature.Appearance
		if *visible != "" {
			var err error
			if app, err = parseVisible(*visible); err != nil {
				return usageError{err}
			}
			app.Text = strings.ReplaceAll(*text, `\n`, "\n")
			if *fontPath != "none" {
				if app.Font, err = signature.LoadFont(*fontPath); err != nil {
					return usageError{fmt.Errorf("%w (or -font none)", err)}
				}
			}
			if *imagePath != "" {
				if app.Font == nil {
					return usageError{errors.New("-image needs an embedded font: drop -font none")}
				}
				if app.Image, err = readSmall(*imagePath); err != nil {
					return usageError{err}
				}
			}
		}
		key, err := loadKey(&kf)
		if err != nil {
			return usageError{err}
		}
		defer key.close()
		opts := &signature.SignOptions{
			Signer: key.signer, Certificate: key.cert, Chain: key.chain, Timestamper: ts, PSS: *pss,
			Field: *field, Reason: *reason, Location: *location, ContactInfo: *contact, Name: *name,
			Certification: *certify != 0, DocMDP: *certify, Visible: app,
		}
		if app != nil {
			// The date in the appearance is for Japanese readers; Japan
			// has no daylight saving time, so a fixed zone is exact.
			opts.SigningTime = time.Now().In(time.FixedZone("JST", 9*3600))
		}
		opts.Level = signature.LevelBB
		if ts != nil {
			opts.Level = signature.LevelBT
		}
		pl := &plan{level: lvl, opts: opts, chain: key.chain, ts: ts, online: !*offline}
		if (len(crlFiles) > 0 || len(ocspFiles) > 0) && lvl != signature.LevelBLT && lvl != signature.LevelBLTA {
			return usageError{fmt.Errorf("-crl and -ocsp are for -level B-LT or B-LTA, not %s", lvl)}
		}
		for _, f := range crlFiles {
			der, err := pemfile.CRL(f)
			if err != nil {
				return usageError{err}
			}
			pl.crls = append(pl.crls, der)
		}
		for _, f := range ocspFiles {
			der, err := pemfile.OCSPResponse(f)
			if err != nil {
				return usageError{err}
			}
			pl.ocsps = append(pl.ocsps, der)
		}
		if *outDir != "" {
			return runBatch(ctx, pl, fs.Args(), *outDir, *jobs, stdout, stderr)
		}
		res, err := pl.signFile(ctx, fs.Arg(0), fs.Arg(1))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, res)
		return nil
	}()
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "sign:", err)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "sign:", err)
		return 1
	}
	return 0
}

// plan is what every file gets: the signature and the steps to the level.
type plan struct {
	level signature.Level
	opts  *signature.SignOptions
	chain []*x509.Certificate
	ts    signature.Timestamper
	// online lets B-LT fetch what crls and ocsps (DER, from -crl and
	// -ocsp) do not hold.
	online      bool
	crls, ocsps [][]byte
}

// result says what signFile wrote.
type result struct {
	in, out string
	bytes   int64
	level   signature.Level
	field   string
}

func (r result) String() string {
	return fmt.Sprintf("signed %s: wrote %s (%d bytes), level %s, field %q", r.in, r.out, r.bytes, r.level, r.field)
}

type step func(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error

// signFile signs inPath into outPath. An input that cannot be read or is
// not a PDF gives a usageError.
func (pl *plan) signFile(ctx context.Context, inPath, outPath string) (result, error) {
	res := result{in: inPath, out: outPath, level: pl.level, field: pl.opts.Field}
	steps := []step{func(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error {
		opts := pl.opts
		if opts.Field == "" {
			// Name the field here, as Sign would, to report it.
			name, err := signature.NextFieldName(in, size)
			if err != nil {
				return err
			}
			o := *opts
			o.Field, res.field = name, name
			opts = &o
		}
		return signature.Sign(ctx, in, size, out, opts)
	}}
	if pl.level == signature.LevelBLT || pl.level == signature.LevelBLTA {
		steps = append(steps, func(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error {
			err := signature.AddValidationData(ctx, in, size, out, &signature.ExtendOptions{Online: pl.online, Certs: pl.chain, CRLs: pl.crls, OCSPs: pl.ocsps})
			if errors.Is(err, signature.ErrMissingValidationData) {
				how := "give an OCSP response (-ocsp F) or the issuer's CRL (-crl F) for each certificate named"
				if !pl.online {
					how += ", or drop -offline"
				}
				return fmt.Errorf("cannot reach %s: %w; %s", pl.level, err, how)
			}
			return err
		})
	}
	if pl.level == signature.LevelBLTA {
		steps = append(steps, func(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error {
			return signature.AddDocumentTimestamp(ctx, in, size, out, &signature.ExtendOptions{Timestamper: pl.ts})
		})
	}
	n, err := pipeline(ctx, inPath, outPath, steps)
	if err != nil {
		return res, err
	}
	res.bytes = n
	return res, nil
}

// inMemoryMax is the largest input a step reads into memory at once;
// larger ones are read from the file as the step needs them.
const inMemoryMax = 4 << 20

// pipeline runs the steps from inPath to outPath through temporary files
// in outPath's directory, so no step holds a whole document in memory,
// and returns the size of outPath.
func pipeline(ctx context.Context, inPath, outPath string, steps []step) (int64, error) {
	dir := filepath.Dir(outPath)
	cur := inPath
	var temps []string
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	var size int64
	for i, s := range steps {
		in, err := os.Open(cur)
		if err != nil {
			if i == 0 {
				return 0, usageError{fmt.Errorf("cannot read the input: %w", err)}
			}
			return 0, err
		}
		st, err := in.Stat()
		if err != nil {
			in.Close()
			return 0, err
		}
		out, err := os.CreateTemp(dir, ".sign-*.pdf")
		if err != nil {
			in.Close()
			return 0, err
		}
		temps = append(temps, out.Name())
		// A small input is read once into memory and the output goes
		// through a buffer: signature.Sign reads in windows and writes in
		// pieces, which for files would be a system call each.
		var src io.ReaderAt = in
		if st.Size() <= inMemoryMax {
			b := make([]byte, st.Size())
			if _, err := io.ReadFull(in, b); err != nil {
				in.Close()
				if i == 0 {
					return 0, usageError{fmt.Errorf("cannot read the input: %w", err)}
				}
				return 0, err
			}
			src = bytes.NewReader(b)
		}
		bw := bufio.NewWriterSize(out, 256<<10)
		err = s(ctx, src, st.Size(), bw)
		if err == nil {
			err = bw.Flush()
		}
		in.Close()
		if err == nil {
			if st, serr := out.Stat(); serr == nil {
				size = st.Size()
			}
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if i == 0 && (errors.Is(err, signature.ErrUnsupportedDocument) || errors.Is(err, signature.ErrInvalidSignOptions)) {
				return 0, usageError{err}
			}
			return 0, err
		}
		cur = out.Name()
	}
	if err := os.Rename(cur, outPath); err != nil {
		return 0, err
	}
	return size, nil
}

func parseVisible(s string) (*signature.Appearance, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 5 {
		return nil, fmt.Errorf("-visible %q: want PAGE,X1,Y1,X2,Y2", s)
	}
	page, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || page < 1 {
		return nil, fmt.Errorf("-visible %q: page must be a number from 1", s)
	}
	a := &signature.Appearance{Page: page}
	for i := range 4 {
		if a.Rect[i], err = strconv.ParseFloat(strings.TrimSpace(parts[i+1]), 64); err != nil {
			return nil, fmt.Errorf("-visible %q: %q is not a number", s, parts[i+1])
		}
	}
	return a, nil
}
