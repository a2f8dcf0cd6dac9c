package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/linkvault/linkvault"
)

// Exit statuses: 0 success (and -h), 1 a failure, 2 a usage error.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a command line the command cannot run: an unknown command or flag, a
// missing or malformed argument. main exits 2 for it, 1 for every other error.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode is the process exit status for err returned by run.
// errorText is err's message for the operator: an application error reads as its
// message, without the API's "status/errorType: " prefix.
func errorText(err error) string {
	text := err.Error()
	var le *linkvault.Error
	if errors.As(err, &le) {
		text = strings.Replace(text, le.Status+"/"+le.Type+": ", "", 1)
	}
	return text
}

func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitFailure
}

// flags is a command's flag set: -h/-help/--help print its usage to stdout (and parse
// returns flag.ErrHelp, exit 0); a bad flag or a stray argument is a usageError.
type flags struct {
	*flag.FlagSet
	usage  string
	stdout io.Writer
}

func newFlags(name, usage string, stdout io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, usage: usage, stdout: stdout}
}

// parse parses args; no positional arguments are accepted.
func (f *flags) parse(args []string) error {
	err := f.FlagSet.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		f.printUsage(f.stdout)
		return flag.ErrHelp
	}
	if err != nil {
		return usageErrorf("%s: %v (see linkvault %s -h)", f.Name(), err, f.Name())
	}
	if f.NArg() > 0 {
		return usageErrorf("%s: unexpected argument %q (see linkvault %s -h)", f.Name(), f.Arg(0), f.Name())
	}
	return nil
}

// printUsage writes the usage text and the flags with their defaults.
func (f *flags) printUsage(w io.Writer) {
	fmt.Fprint(w, strings.TrimRight(f.usage, "\n")+"\n")
	has := false
	f.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprintln(w, "\nFlags:")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// subcommand picks the subcommand of a command group: "-h" (or none given) prints the
// group's usage, to stdout with exit 0 for -h, as a usage error otherwise.
func subcommand(group, usage string, args []string, stdout io.Writer, subs ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usageErrorf("%s: a subcommand is required\n%s", group, usage)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return "", nil, flag.ErrHelp
	}
	for _, s := range subs {
		if args[0] == s {
			return s, args[1:], nil
		}
	}
	return "", nil, usageErrorf("%s: unknown subcommand %q\n%s", group, args[0], usage)
}

// require returns a usage error naming the first of the flags left empty.
func (f *flags) require(names ...string) error {
	for _, n := range names {
		if fl := f.Lookup(n); fl != nil && fl.Value.String() == "" {
			return usageErrorf("%s: --%s is required (see linkvault %s -h)", f.Name(), n, f.Name())
		}
	}
	return nil
}

// jsonFlag registers --json: machine-readable output.
func jsonFlag(f *flags) *bool {
	return f.Bool("json", false, "print JSON instead of a table or text")
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
