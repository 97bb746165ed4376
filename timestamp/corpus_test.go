package timestamp_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/internal/cms"
	"github.com/keiyaku/keiyaku/internal/testenv"
	"github.com/keiyaku/keiyaku/timestamp"
)

var contentsRE = regexp.MustCompile(`/Contents\s*<([0-9A-Fa-f\s]{64,})>`)

// TestCorpusSignatureTimestamps parses every signature timestamp token of
// the corpus and checks that it stamps the SHA of its signature value
// (RFC 3161 Appendix A), and that document timestamps parse.
func TestCorpusSignatureTimestamps(t *testing.T) {
	root := testenv.Corpus(t)
	var tokens, stamped, docTimestamps int
	err := filepath.WalkDir(filepath.Join(root, "pdf"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pdf") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range contentsRE.FindAllSubmatch(b, -1) {
			h := strings.Join(strings.Fields(string(m[1])), "")
			if len(h)%2 == 1 {
				h += "0"
			}
			blob, err := hex.DecodeString(h)
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			sd, err := cms.Parse(blob)
			if err != nil {
				continue
			}
			if sd.ContentType.Equal(cms.OIDTSTInfo) {
				if _, err := timestamp.Parse(blob); err != nil {
					t.Errorf("%s: document timestamp: %v", rel, err)
				}
				docTimestamps++
				continue
			}
			for _, si := range sd.Signers {
				for _, raw := range si.SignatureTimestampTokens() {
					tokens++
					tok, err := timestamp.Parse(raw)
					if err != nil {
						if !errors.Is(err, timestamp.ErrMalformed) && !errors.Is(err, timestamp.ErrUnsupported) {
							t.Errorf("%s: error outside the package's kinds: %v", rel, err)
						}
						t.Logf("%s: %v", rel, err)
						continue
					}
					w := tok.Hash.New()
					w.Write(si.Signature)
					if bytes.Equal(w.Sum(nil), tok.HashedMessage) {
						stamped++
					} else {
						t.Logf("%s: token does not stamp the signature value", rel)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d signature timestamps, %d stamp their signature; %d document timestamps", tokens, stamped, docTimestamps)
	if tokens == 0 || docTimestamps == 0 || stamped < tokens*3/4 {
		t.Fatalf("corpus: %d tokens, %d matching, %d document timestamps", tokens, stamped, docTimestamps)
	}
}
