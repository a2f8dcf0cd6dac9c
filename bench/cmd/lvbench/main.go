// Command lvbench runs linkvault's benchmarks (see package bench and
// docs/benchmarks.md). It builds ./cmd/linkvault itself unless -bin names a binary:
//
//	go run ./bench/cmd/lvbench resolve
//	go run ./bench/cmd/lvbench scale -rows 1000000
//	go run ./bench/cmd/lvbench -bin ./linkvault refresh
//	go run ./bench/cmd/lvbench link          (headless Chromium at /usr/bin/chromium)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/linkvault/linkvault/bench"
	"github.com/linkvault/linkvault/bench/browser"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	opts := bench.Options{Browser: browser.New}
	if len(args) >= 2 && (args[0] == "-bin" || args[0] == "--bin") {
		opts.LinkvaultBin, args = args[1], args[2:]
	}
	if exe, err := os.Executable(); err == nil {
		opts.Self = []string{exe}
	}
	if err := bench.Main(ctx, opts, args, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lvbench:", err)
		}
		os.Exit(2)
	}
}
