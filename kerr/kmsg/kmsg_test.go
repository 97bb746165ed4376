package kmsg_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/keiyaku/keiyaku/casework"
	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/kerr/kmsg"
)

// Every code has a Japanese and an English text, and both use the same
// placeholders.
func TestCatalogComplete(t *testing.T) {
	codes := kmsg.Codes()
	if len(codes) < 20 {
		t.Fatalf("the catalog has %d codes", len(codes))
	}
	for _, code := range codes {
		var placeholders [][]string
		for _, lang := range kmsg.Languages {
			s, ok := kmsg.Text(code, lang)
			if !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s has no %s text", code, lang)
				continue
			}
			ph := kerr.Placeholders(s)
			slices.Sort(ph)
			placeholders = append(placeholders, slices.Compact(ph))
		}
		if len(placeholders) == 2 && !slices.Equal(placeholders[0], placeholders[1]) {
			t.Errorf("%s: ja uses placeholders %v, en %v", code, placeholders[0], placeholders[1])
		}
	}
}

// The words of the lifecycle (states, events, roles, forms) that refusals
// name are all in the catalog.
func TestLifecycleWords(t *testing.T) {
	var want []string
	for _, s := range casework.States() {
		want = append(want, "state."+s.String())
	}
	for _, e := range casework.Events() {
		want = append(want, "event."+e.String(), "done."+e.String())
	}
	for _, r := range casework.Roles() {
		want = append(want, "role."+r.String())
	}
	for _, f := range casework.Forms() {
		want = append(want, "form."+f.String())
	}
	for _, code := range want {
		for _, lang := range kmsg.Languages {
			if _, ok := kmsg.Text(code, lang); !ok {
				t.Errorf("the catalog has no %s text for %s", lang, code)
			}
		}
	}
}

// TestCodeSites reads every kerr.M, kerr.MW and kerr.N call in the module's
// source: its code is in the catalog, its English text is the catalog's
// English text, and its parameters are exactly the text's placeholders.
func TestCodeSites(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	sites := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !isIdent(sel.X, "kerr") || sel.Sel.Name != "M" && sel.Sel.Name != "MW" && sel.Sel.Name != "N" {
				return true
			}
			sites++
			pos := fset.Position(call.Pos())
			first := 2 // kerr.M(kind, op, code, en, params...)
			if sel.Sel.Name == "N" {
				first = 0 // kerr.N(code, en, params...)
			}
			if len(call.Args) < first+2 {
				t.Errorf("%s: kerr.%s with %d arguments", pos, sel.Sel.Name, len(call.Args))
				return true
			}
			code, ok1 := stringLit(call.Args[first])
			en, ok2 := stringLit(call.Args[first+1])
			if !ok1 || !ok2 {
				t.Errorf("%s: the code and the English text must be string literals", pos)
				return true
			}
			want, ok := kmsg.English(code)
			if !ok {
				t.Errorf("%s: code %q is not in the catalog", pos, code)
			} else if want != en {
				t.Errorf("%s: code %q: the source says\n\t%q\nthe catalog\n\t%q", pos, code, en, want)
			}
			params := call.Args[first+2:]
			if sel.Sel.Name == "MW" {
				params = call.Args[5:]
			}
			var names []string
			for _, a := range params {
				pc, ok := a.(*ast.CallExpr)
				if !ok || len(pc.Args) == 0 {
					t.Errorf("%s: parameters must be kerr.P or kerr.PC calls", pos)
					continue
				}
				name, ok := stringLit(pc.Args[0])
				if !ok {
					t.Errorf("%s: a parameter name is not a literal", pos)
				}
				names = append(names, name)
			}
			ph := kerr.Placeholders(en)
			slices.Sort(ph)
			slices.Sort(names)
			if !slices.Equal(slices.Compact(ph), names) {
				t.Errorf("%s: code %q has placeholders %v but parameters %v", pos, code, ph, names)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sites < 20 {
		t.Errorf("found only %d code sites", sites)
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

func TestLocalize(t *testing.T) {
	err := kerr.Wrap("casework.Register", kerr.M(kerr.Invalid, "casework.putDocument", "upload.empty",
		"the upload {file} is empty: choose the file again and upload it", kerr.P("file", "契約書.pdf")))
	err = fmt.Errorf("outer: %w", err)
	if !errors.Is(err, kerr.Invalid) {
		t.Fatalf("kind lost: %v", err)
	}
	if got, want := err.Error(), "outer: casework.Register: casework.putDocument: invalid: the upload 契約書.pdf is empty: choose the file again and upload it"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	for lang, want := range map[string]string{
		"en": "the upload 契約書.pdf is empty: choose the file again and upload it",
		"ja": "アップロードされた 契約書.pdf は空です。ファイルを選び直してアップロードしてください。",
		"":   "アップロードされた 契約書.pdf は空です。ファイルを選び直してアップロードしてください。",
	} {
		got, ok := kmsg.Localize(err, lang)
		if !ok || got != want {
			t.Errorf("Localize(%q) = %q, %v; want %q", lang, got, ok, want)
		}
	}
	if _, ok := kmsg.Localize(kerr.E(kerr.Invalid, "op", "no code"), "ja"); ok {
		t.Error("Localize of an error without a code reported a text")
	}
	if _, ok := kmsg.Localize(kerr.M(kerr.Invalid, "op", "no.such.code", "x"), "ja"); ok {
		t.Error("Localize of an unknown code reported a text")
	}
	// A word parameter is translated; a cause of MW stays reachable and
	// silent.
	cause := errors.New("sentinel cause")
	werr := kerr.MW(kerr.FailedPrecondition, "op", "case.wrongstate", "a case in state {state} cannot be {done}: reload it to see where it stands", cause,
		kerr.PC("state", "state.completed", "completed"), kerr.PC("done", "done.delete", "deleted"))
	if !errors.Is(werr, cause) || !errors.Is(werr, kerr.FailedPrecondition) || strings.Contains(werr.Error(), "sentinel") {
		t.Errorf("MW: %v", werr)
	}
	if got, _ := kmsg.Localize(werr, "ja"); got != "状態が「締結済み」の案件は削除できません。再読み込みして現在の状態を確認してください。" {
		t.Errorf("ja = %q", got)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		def   string
		prefs []string
		want  string
	}{
		{"ja", nil, "ja"},
		{"en", nil, "en"},
		{"ja", []string{"en-US,en;q=0.9"}, "en"},
		{"en", []string{"ja-JP"}, "ja"},
		{"ja", []string{"en;q=0.5, ja;q=0.8"}, "ja"},
		{"ja", []string{"ja;q=0.2, en;q=0.8"}, "en"},
		{"en", []string{"fr-FR"}, "en"},
		{"ja", []string{"", "en"}, "en"},
		{"ja", []string{"en", "ja"}, "en"},
		{"ja", []string{"\x00;;q=="}, "ja"},
	}
	for _, tt := range tests {
		if got := kmsg.Match(tt.def, tt.prefs...); got != tt.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tt.def, tt.prefs, got, tt.want)
		}
	}
}

// FuzzMatch: any Accept-Language value gives one of the catalog's
// languages, never a panic.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"ja", "en-US,en;q=0.9", "*", "ja;q=0", "x-klingon;q=1.5, en;q=", ";;;,,,", "zh-Hant-TW"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got := kmsg.Match("en", v); got != "ja" && got != "en" {
			t.Fatalf("Match(%q) = %q", v, got)
		}
	})
}

func FuzzExpand(f *testing.F) {
	f.Add("{a} and {b}", "x", "y")
	f.Add("{", "", "")
	f.Add("}{a}{", "1", "2")
	f.Fuzz(func(t *testing.T, text, a, b string) {
		out := kerr.Expand(text, []kerr.Param{kerr.P("a", a), kerr.P("b", b)}, nil)
		if !strings.Contains(text, "{") && out != text {
			t.Fatalf("Expand(%q) = %q without placeholders", text, out)
		}
		_ = kerr.Placeholders(text)
	})
}

func ExampleLocalize() {
	err := kerr.Wrap("casework.Register", kerr.M(kerr.Invalid, "casework.putDocument", "upload.empty",
		"the upload {file} is empty: choose the file again and upload it", kerr.P("file", "contract.pdf")))
	en, _ := kmsg.Localize(err, "en")
	ja, _ := kmsg.Localize(err, kmsg.Match("en", "ja,en;q=0.5"))
	fmt.Println(en)
	fmt.Println(ja)
	// Output:
	// the upload contract.pdf is empty: choose the file again and upload it
	// アップロードされた contract.pdf は空です。ファイルを選び直してアップロードしてください。
}
