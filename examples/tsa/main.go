// Command tsa runs a local RFC 3161 timestamping authority over HTTP
// (RFC 3161 §3.4), built on keiyaku's timestamp.Authority.
//
//	go run ./examples/tsa [-addr 127.0.0.1:8318] [-key key.pem -cert cert.pem] [-dir DIR]
//
// With -key and -cert it signs with that key; cert.pem holds the TSA
// certificate first, then any intermediates to include in tokens. Without
// them it creates (or reuses) a development ECDSA P-256 key and a
// self-signed TSA certificate with the critical timeStamping-only extended
// key usage in -dir, and prints where they are: trust that certificate to
// verify its tokens, for example
//
//	openssl ts -query -data file -sha256 -cert -out req.tsq
//	curl -s -H 'Content-Type: application/timestamp-query' --data-binary @req.tsq http://127.0.0.1:8318/ > resp.tsr
//	openssl ts -verify -data file -in resp.tsr -CAfile DIR/tsa-cert.pem
//
// Each request is logged on stderr (slog text, INFO "timestamp request"):
// serial and policy of the token, the request's digest algorithm, the
// status answered (with its failure info), the HTTP status and the remote
// address.
//
// Exit status: 0 after a clean shutdown (SIGINT, SIGTERM) and for -h, 1
// when the TSA cannot start (bad -policy, unreadable key or certificate,
// address in use), 2 on usage errors.
//
// Serial numbers persist in -dir/serial (fsync + rename per token). The
// development policy OID 1.3.6.1.4.1.99999.1.1 is not registered to anyone;
// set -policy for real use.
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keiyaku/keiyaku/internal/pemfile"
	"github.com/keiyaku/keiyaku/timestamp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// cli runs the command and returns its exit status: 0 after a clean
// shutdown (ctx cancelled) and for -h, 1 when the TSA cannot start or
// fails, 2 on usage errors. ready, when not nil, receives the address
// listened on.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("tsa", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8318", "listen address")
	keyPath := fs.String("key", "", "PEM private key of the TSA (PKCS #8, EC or PKCS #1)")
	certPath := fs.String("cert", "", "PEM TSA certificate, then intermediates")
	dir := fs.String("dir", filepath.Join(os.TempDir(), "keiyaku-tsa-dev"), "directory for the serial file and the development key and certificate")
	policy := fs.String("policy", "1.3.6.1.4.1.99999.1.1", "TSA policy OID")
	accuracy := fs.Duration("accuracy", time.Second, "stated accuracy of genTime (0 leaves it out)")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: tsa [-addr HOST:PORT] [-key key.pem -cert cert.pem] [-dir DIR] [-policy OID] [-accuracy DURATION]")
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
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tsa: unexpected arguments %q\n", fs.Args())
		usage(stderr)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := run(ctx, *addr, *keyPath, *certPath, *dir, *policy, *accuracy, stdout, log, ready); err != nil {
		fmt.Fprintln(stderr, "tsa:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, addr, keyPath, certPath, dir, policyText string, accuracy time.Duration, stdout io.Writer, log *slog.Logger, ready chan<- string) error {
	policy, err := parseOID(policyText)
	if err != nil {
		return fmt.Errorf("-policy: %w", err)
	}
	if (keyPath == "") != (certPath == "") {
		return errors.New("give both -key and -cert, or neither for a development TSA")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var key crypto.Signer
	var chain []*x509.Certificate
	if keyPath == "" {
		keyPath, certPath, err = devCredentials(dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "development TSA key:         %s\ndevelopment TSA certificate: %s (trust it to verify tokens)\n", keyPath, certPath)
	}
	if key, err = pemfile.PrivateKey(keyPath); err != nil {
		return err
	}
	if chain, err = pemfile.Certificates(certPath); err != nil {
		return err
	}
	serials, err := timestamp.NewFileSerialStore(filepath.Join(dir, "serial"))
	if err != nil {
		return err
	}
	tsa, err := timestamp.NewAuthority(timestamp.AuthorityConfig{
		Signer:      key,
		Certificate: chain[0],
		Chain:       chain[1:],
		Policy:      policy,
		Accuracy:    accuracy,
		Serials:     serials,
		Logger:      log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: logRequests(tsa, log), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "serving RFC 3161 on http://%s/ (serials in %s)\n", ln.Addr(), filepath.Join(dir, "serial"))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// devCredentials returns the paths of the development key and certificate
// in dir, creating them on first use.
func devCredentials(dir string) (keyPath, certPath string, err error) {
	keyPath = filepath.Join(dir, "tsa-key.pem")
	certPath = filepath.Join(dir, "tsa-cert.pem")
	if _, err := os.Stat(certPath); err == nil {
		return keyPath, certPath, nil
	}
	key, cert, err := timestamp.DevelopmentCertificate(time.Now(), time.Now().AddDate(5, 0, 0))
	if err != nil {
		return "", "", err
	}
	der := cert.Raw
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return keyPath, certPath, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a dotted OID", s)
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("%q is not a dotted OID", s)
	}
	return oid, nil
}
