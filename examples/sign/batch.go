package main

import (
	"context"
	"errors"
	"io"
)

func runBatch(ctx context.Context, pl *plan, inputs []string, outDir string, jobs int, kf keyFlags, stdout, stderr io.Writer) error {
	return usageError{errors.New("batch mode is not there yet")}
}
