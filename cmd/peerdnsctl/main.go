// Command peerdnsctl installs peerdns as a stub domain of a cluster's own DNS: kube-dns's
// stubDomains or a CoreDNS server block (SPEC section 6). Run it with -h for its commands and
// flags. The logic is in internal/stubdomain; this is the command line around it.
//
// Exit status: 0 on success, 1 when the cluster could not be read or written, 2 for a wrong
// command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// version is peerdnsctl's version, set at build time with -ldflags "-X main.version=v1.2.3".
var version = "v0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the command line, runs the command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{}
	fs := flag.NewFlagSet("peerdnsctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseStatus prints the errors, with the usage line
	fs.Usage = func() {}
	g.register(fs)
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return parseStatus(err, stderr, mainUsageLine, mainUsage)
	}
	if *showVersion {
		fmt.Fprintf(stdout, "peerdnsctl %s %s/%s, %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
		return 0
	}
	if fs.NArg() == 0 {
		return usageError(stderr, errors.New("no command given"), mainUsageLine)
	}
	cmd, ok := commands[fs.Arg(0)]
	if !ok {
		return usageError(stderr, fmt.Errorf("unknown command %q", fs.Arg(0)), mainUsageLine)
	}
	return cmd(ctx, g, fs.Args()[1:], stdout, stderr)
}

// commands maps each command name to its runner.
var commands = map[string]func(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) int{
	"install":    runInstall,
	"uninstall":  runUninstall,
	"status":     runStatus,
	"sync-stubs": runSyncStubs,
}

// usageError prints a wrong command line's error and the usage line; the status is 2.
func usageError(w io.Writer, err error, usage string) int {
	fmt.Fprintf(w, "peerdnsctl: %v\nusage: %s\nRun 'peerdnsctl -h' or 'peerdnsctl COMMAND -h' for details.\n", err, usage)
	return 2
}

// parseStatus handles a flag parse error: -h prints the usage text, status 0; anything else
// is a wrong command line, status 2.
func parseStatus(err error, w io.Writer, line, long string) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(w, long)
		return 0
	}
	return usageError(w, err, line)
}

// failed prints an error of the cluster and returns status 1.
func failed(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(w, "peerdnsctl: %v\n", err)
	return 1
}
