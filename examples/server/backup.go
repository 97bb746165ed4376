package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/keiyaku/keiyaku/backup"
)

// runBackup runs the subcommands backup, restore and check of the
// embedded default (package backup):
//
//	server backup -dir DIR -out BACKUP    (online: the server may run)
//	server restore -from BACKUP -dir NEWDIR
//	server check -dir DIR
//
// Each prints a JSON report; exit status 0, 1 on failure, 2 on a usage
// error. PostgreSQL and S3 are backed up with pg_dump and a bucket copy
// (docs/operations.md).
func runBackup(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the data directory")
	out := fs.String("out", "", "backup: the backup directory (created; an earlier backup there is updated)")
	from := fs.String("from", "", "restore: the backup directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	need := map[string][]*string{"backup": {dir, out}, "restore": {from, dir}, "check": {dir}}[cmd]
	for _, p := range need {
		if *p == "" || fs.NArg() > 0 {
			fmt.Fprintf(stderr, "server %s: usage: server backup -dir DIR -out BACKUP | server restore -from BACKUP -dir NEWDIR | server check -dir DIR\n", cmd)
			return 2
		}
	}
	var rep any
	var err error
	switch cmd {
	case "backup":
		rep, err = backup.Take(ctx, *dir, *out, time.Now())
	case "restore":
		rep, err = backup.Restore(ctx, *from, *dir)
	case "check":
		rep, err = backup.Check(ctx, *dir)
	}
	if rep != nil && !reflect.ValueOf(rep).IsNil() {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	}
	if err != nil {
		fmt.Fprintf(stderr, "server %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
