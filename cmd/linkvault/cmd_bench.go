package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/linkvault/linkvault/bench"
)

// runBench is `linkvault bench <scenario>`: the benchmark harness of package bench,
// measuring this very binary (servers are started as `<this binary> serve`, the
// hello-world baseline as `<this binary> bench hello`). Results: docs/benchmarks.md.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, _ env) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	err = bench.Main(ctx, bench.Options{LinkvaultBin: exe, Self: []string{exe, "bench"}}, args, stdout, stderr)
	if errors.Is(err, bench.ErrUsage) {
		return usageErrorf("bench: %s", strings.TrimPrefix(err.Error(), bench.ErrUsage.Error()+": "))
	}
	return err
}
