package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// maxBatchFiles bounds the files of one batch run (and of a -list file).
const maxBatchFiles = 1_000_000

// batchFile is one input of a batch and what became of it.
type batchFile struct {
	in, out string
	res     result
	err     error
}

// runBatch signs every input (a PDF, or a directory whose *.pdf files are
// taken, not recursively) into outDir under its own name, jobs at a
// time, with the one key of pl. A file that fails does not stop the
// others; the summary names each failure and its reason, and the run
// fails (exit 1) if any file did.
func runBatch(ctx context.Context, pl *plan, inputs []string, outDir string, jobs int, stdout, stderr io.Writer) error {
	if jobs < 0 || jobs > 256 {
		return usageError{fmt.Errorf("-jobs %d: want 1 to 256", jobs)}
	}
	if jobs == 0 {
		jobs = runtime.NumCPU()
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return usageError{fmt.Errorf("-out-dir: %w", err)}
	}
	files, err := collect(inputs, outDir)
	if err != nil {
		return err
	}
	bar := progressbar.NewOptions(len(files),
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("signing"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
	)
	start := time.Now()
	work := make(chan *batchFile)
	var wg sync.WaitGroup
	for range min(jobs, max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if f.err == nil {
					f.res, f.err = pl.signFile(ctx, f.in, f.out)
				}
				bar.Add(1)
			}
		}()
	}
	for _, f := range files {
		if ctx.Err() != nil && f.err == nil {
			f.err = ctx.Err()
		}
		work <- f
	}
	close(work)
	wg.Wait()
	bar.Finish()

	var failed []*batchFile
	for _, f := range files {
		if f.err != nil {
			failed = append(failed, f)
			continue
		}
		fmt.Fprintln(stdout, f.res)
	}
	fmt.Fprintf(stdout, "summary: %d of %d files signed in %s", len(files)-len(failed), len(files), time.Since(start).Round(time.Millisecond))
	if len(failed) == 0 {
		fmt.Fprintln(stdout)
		return nil
	}
	fmt.Fprintf(stdout, "; %d failed:\n", len(failed))
	for _, f := range failed {
		fmt.Fprintf(stdout, "  FAILED %s: %v\n", f.in, f.err)
	}
	return fmt.Errorf("%d of %d files failed (listed above)", len(failed), len(files))
}

// collect expands the inputs (files, directories, @list files with one
// path a line) into the files to sign and their outputs. An input that
// cannot be read becomes a failed entry, not an error of the run; two
// inputs with the same name would overwrite each other's output, so the
// second fails.
func collect(inputs []string, outDir string) ([]*batchFile, error) {
	var paths []string
	for _, in := range inputs {
		if list, ok := strings.CutPrefix(in, "@"); ok {
			lines, err := readList(list)
			if err != nil {
				return nil, usageError{err}
			}
			paths = append(paths, lines...)
			continue
		}
		st, err := os.Stat(in)
		if err == nil && st.IsDir() {
			ents, err := os.ReadDir(in)
			if err != nil {
				return nil, usageError{err}
			}
			for _, e := range ents {
				if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".pdf") {
					paths = append(paths, filepath.Join(in, e.Name()))
				}
			}
			continue
		}
		paths = append(paths, in)
	}
	if len(paths) == 0 {
		return nil, usageError{errors.New("no PDF to sign among the inputs")}
	}
	if len(paths) > maxBatchFiles {
		return nil, usageError{fmt.Errorf("%d files: at most %d per run", len(paths), maxBatchFiles)}
	}
	outAbs, _ := filepath.Abs(outDir)
	seen := map[string]string{}
	files := make([]*batchFile, 0, len(paths))
	for _, p := range paths {
		f := &batchFile{in: p, out: filepath.Join(outDir, filepath.Base(p))}
		if inAbs, _ := filepath.Abs(p); filepath.Dir(inAbs) == outAbs {
			f.err = errors.New("it is in -out-dir: signing it would overwrite the original")
		} else if prev, dup := seen[f.out]; dup {
			f.err = fmt.Errorf("its output %s is already the output of %s", f.out, prev)
		}
		seen[f.out] = p
		files = append(files, f)
	}
	return files, nil
}

func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
			if len(out) > maxBatchFiles {
				return nil, fmt.Errorf("%s lists more than %d files", path, maxBatchFiles)
			}
		}
	}
	return out, sc.Err()
}
