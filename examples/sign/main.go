// Command sign signs a PDF with a PAdES signature, as an incremental update,
// at level B-B, B-T, B-LT or B-LTA.
//
//	go run ./examples/sign (-key K.pem -cert C.pem [-chain F.pem] | -p12 F.p12 [-password-file F])
//	    [-level B-B|B-T|B-LT|B-LTA] [-tsa URL] [-field NAME] [-reason TEXT]
//	    [-location TEXT] [-contact TEXT] [-name TEXT] [-certify 1|2|3]
//	    [-visible PAGE,X1,Y1,X2,Y2] [-text TEXT] [-pss] in.pdf out.pdf
//
// B-T and above need -tsa (an RFC 3161 server). B-LT adds a Document
// Security Store with the chains and OCSP responses or CRLs fetched online;
// B-LTA then adds a document timestamp. PKCS#12 files must use the legacy
// 3DES/RC2 encryption that golang.org/x/crypto/pkcs12 reads (openssl
// pkcs12 -export -legacy, or -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES
// -macalg sha1) and an RSA or ECDSA key.
//
// The output is written to a temporary file beside out.pdf and renamed
// into place only when every step succeeded. Exit status: 0 on success, 1
// when signing failed, 2 on usage errors.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/pkcs12"

	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/signature"
	"github.com/keiyaku/keiyaku/timestamp"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

type usageError struct{ error }

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "PEM private key (PKCS#8, PKCS#1 or SEC 1)")
	certFile := fs.String("cert", "", "PEM signer certificate")
	chainFile := fs.String("chain", "", "PEM intermediate (and root) certificates")
	p12File := fs.String("p12", "", "PKCS#12 file with key, certificate and chain")
	pwFile := fs.String("password-file", "", "file whose first line is the PKCS#12 password (default empty)")
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
	pss := fs.Bool("pss", false, "use RSASSA-PSS for RSA keys")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sign (-key K.pem -cert C.pem [-chain F.pem] | -p12 F.p12 [-password-file F]) [-level B-B|B-T|B-LT|B-LTA] [-tsa URL] [-field NAME] [-reason TEXT] in.pdf out.pdf")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	err := func() error {
		signer, cert, chain, err := loadKey(*keyFile, *certFile, *chainFile, *p12File, *pwFile)
		if err != nil {
			return usageError{err}
		}
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
		opts := &signature.SignOptions{
			Signer: signer, Certificate: cert, Chain: chain, Timestamper: ts, PSS: *pss,
			Field: *field, Reason: *reason, Location: *location, ContactInfo: *contact, Name: *name,
			Certification: *certify != 0, DocMDP: *certify,
		}
		opts.Level = signature.LevelBB
		if ts != nil {
			opts.Level = signature.LevelBT
		}
		if *visible != "" {
			app, err := parseVisible(*visible)
			if err != nil {
				return usageError{err}
			}
			app.Text = strings.ReplaceAll(*text, `\n`, "\n")
			opts.Visible = app
		}
		steps := []step{func(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error {
			return signature.Sign(ctx, in, size, out, opts)
		}}
		if lvl == signature.LevelBLT || lvl == signature.LevelBLTA {
			steps = append(steps, func(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error {
				return signature.AddValidationData(ctx, in, size, out, &signature.ExtendOptions{Online: true, Certs: chain})
			})
		}
		if lvl == signature.LevelBLTA {
			steps = append(steps, func(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error {
				return signature.AddDocumentTimestamp(ctx, in, size, out, &signature.ExtendOptions{Timestamper: ts})
			})
		}
		return pipeline(ctx, fs.Arg(0), fs.Arg(1), steps)
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

type step func(ctx context.Context, in io.ReaderAt, size int64, out io.Writer) error

// pipeline runs the steps from inPath to outPath through temporary files
// in outPath's directory, so no step holds a whole document in memory.
func pipeline(ctx context.Context, inPath, outPath string, steps []step) error {
	dir := filepath.Dir(outPath)
	cur := inPath
	var temps []string
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	for _, s := range steps {
		in, err := os.Open(cur)
		if err != nil {
			return err
		}
		st, err := in.Stat()
		if err != nil {
			in.Close()
			return err
		}
		out, err := os.CreateTemp(dir, ".sign-*.pdf")
		if err != nil {
			in.Close()
			return err
		}
		temps = append(temps, out.Name())
		err = s(ctx, in, st.Size(), out)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		cur = out.Name()
	}
	if err := os.Rename(cur, outPath); err != nil {
		return err
	}
	return nil
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

// maxKeyFile bounds key, certificate and PKCS#12 files.
const maxKeyFile = 1 << 20

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err == nil && len(b) > maxKeyFile {
		err = fmt.Errorf("%s is larger than %d bytes", path, maxKeyFile)
	}
	return b, err
}

func loadKey(keyFile, certFile, chainFile, p12File, pwFile string) (crypto.Signer, *x509.Certificate, []*x509.Certificate, error) {
	var blocks []*pem.Block
	switch {
	case p12File != "" && (keyFile != "" || certFile != ""):
		return nil, nil, nil, errors.New("give either -p12 or -key and -cert, not both")
	case p12File != "":
		der, err := readSmall(p12File)
		if err != nil {
			return nil, nil, nil, err
		}
		pw := ""
		if pwFile != "" {
			b, err := readSmall(pwFile)
			if err != nil {
				return nil, nil, nil, err
			}
			pw = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
		}
		if blocks, err = pkcs12.ToPEM(der, pw); err != nil {
			return nil, nil, nil, fmt.Errorf("read %s: %w", p12File, err)
		}
	case keyFile != "" && certFile != "":
		for _, f := range []string{keyFile, certFile, chainFile} {
			if f == "" {
				continue
			}
			b, err := readSmall(f)
			if err != nil {
				return nil, nil, nil, err
			}
			n := len(blocks)
			for {
				var blk *pem.Block
				if blk, b = pem.Decode(b); blk == nil {
					break
				}
				blocks = append(blocks, blk)
			}
			if len(blocks) == n {
				return nil, nil, nil, fmt.Errorf("%s holds no PEM block", f)
			}
		}
	default:
		return nil, nil, nil, errors.New("give -key and -cert, or -p12")
	}
	var signer crypto.Signer
	var certs []*x509.Certificate
	for _, b := range blocks {
		switch {
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("certificate: %w", err)
			}
			certs = append(certs, c)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if signer != nil {
				return nil, nil, nil, errors.New("more than one private key given")
			}
			k, err := pemfile.ParseKey(b.Bytes)
			if err != nil {
				return nil, nil, nil, err
			}
			signer = k
		}
	}
	if signer == nil {
		return nil, nil, nil, errors.New("no private key found")
	}
	pub, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, nil, nil, err
	}
	var cert *x509.Certificate
	var chain []*x509.Certificate
	for _, c := range certs {
		if cert == nil && bytes.Equal(c.RawSubjectPublicKeyInfo, pub) {
			cert = c
			continue
		}
		chain = append(chain, c)
	}
	if cert == nil {
		return nil, nil, nil, errors.New("no certificate matches the private key")
	}
	return signer, cert, chain, nil
}
