// Package cli adds `caddy kassa ...` to the Caddy command line:
//
//	caddy kassa sign <operation> [--engine wasm|native] [--explain] [--verify <signature>]
//	caddy kassa validate <endpoint> [--engine wasm|native] [--query]
//	caddy kassa spec [--openapi]
//	caddy kassa invoices   [--after <key>] [--limit <n>]                          [admin flags]
//	caddy kassa invoice    <id>                                                  [admin flags]
//	caddy kassa deliveries [--state pending|done|dead] [--target <t>] [--limit <n>] [--body] [admin flags]
//	caddy kassa delivery   <id> [--body]                                         [admin flags]
//	caddy kassa requeue    <id>                                                  [admin flags]
//
// where the admin flags, as for `caddy reload` and `caddy stop`, are
// [--address <host:port>] [--config <file> [--adapter <name>]]: the admin
// endpoint is --address, else the admin address of the --config file, else
// localhost:2019.
//
// sign, validate and spec run the core locally (the embedded wasm module by
// default, or the native core); the rest ask a running Caddy through its
// admin API (package adminapi).
//
// Exit status: 0 success; 1 a negative answer (the body is invalid, the
// signature does not match --verify, the server says not found or not
// dead); 2 the command could not answer (bad usage or input, unknown
// operation or endpoint, admin endpoint unreachable, server error).
// Messages go to stderr, results to stdout.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	ExitOK       = 0
	ExitNegative = 1
	ExitError    = 2
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "kassa",
		Usage: "<command> [flags]",
		Short: "Signs, validates and inspects kassa payment traffic",
		Long: `
kassa's tools. Commands that run the core locally (no server needed):

  sign <operation>      sign the fields read from stdin (JSON object with
                        controlKey); prints the signature
  validate <endpoint>   validate the body (or --query string) on stdin;
                        prints "valid", or the violations as a JSON array
  spec                  list the endpoint ids, or --openapi: the OpenAPI 3.1
                        document

Commands that inspect a running Caddy through its admin API:

  invoices              list archived Smarts invoices
  invoice <id>          print one archived invoice
  deliveries            list outbox deliveries (events, notifications)
  delivery <id>         print one delivery
  requeue <id>          move a dead delivery back to pending

Exit status: 0 success; 1 a negative answer (invalid body, --verify
mismatch, not found, not dead); 2 usage or other errors.

Run 'caddy kassa <command> --help' for a command's flags.`,
		CobraFunc: setup,
	})
}

// setup builds the command tree under cmd (the `kassa` command).
func setup(cmd *cobra.Command) {
	cmd.Args = cobra.ArbitraryArgs
	cmd.SilenceErrors = true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		fmt.Fprintf(c.ErrOrStderr(), "%s: %v\n\n%s", c.CommandPath(), err, c.UsageString())
		return exit(ExitError)
	})
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			fmt.Fprintf(c.ErrOrStderr(), "%s: unknown command %q\n\n", c.CommandPath(), args[0])
		}
		fmt.Fprint(c.ErrOrStderr(), c.UsageString())
		return exit(ExitError)
	}
	for _, sub := range []*cobra.Command{
		signCommand(), validateCommand(), specCommand(),
		invoicesCommand(), invoiceCommand(), deliveriesCommand(), deliveryCommand(), requeueCommand(),
	} {
		sub.SilenceErrors = true
		sub.DisableFlagsInUseLine = true
		sub.SilenceUsage = true
		cmd.AddCommand(sub)
	}
}

// runFunc runs a command and returns its exit status; err, if any, is
// printed on stderr.
type runFunc func(cmd *cobra.Command, args []string) (int, error)

// usageError is a wrong invocation: its message is followed by the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// wrap adapts a runFunc to cobra's RunE with kassa's exit statuses.
func wrap(run runFunc) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		code, err := run(cmd, args)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", cmd.CommandPath(), err)
			var ue *usageError
			if errors.As(err, &ue) {
				fmt.Fprintf(cmd.ErrOrStderr(), "\n%s", cmd.UsageString())
				code = ExitError
			}
			if code == ExitOK {
				code = ExitError
			}
		}
		return exit(code)
	}
}

// errSilent makes caddycmd.Main exit with status 1 (cobra prints nothing,
// the commands silence errors).
var errSilent = errors.New("kassa: exit status 1")

// exit turns a status into what caddycmd.Main turns back into it: nil is
// 0, a plain error is 1, and only the error caddycmd.WrapCommandFuncForCobra
// builds carries another status.
func exit(code int) error {
	switch code {
	case ExitOK:
		return nil
	case ExitNegative:
		return errSilent
	}
	return caddycmd.WrapCommandFuncForCobra(func(caddycmd.Flags) (int, error) { return code, nil })(&cobra.Command{}, nil)
}

// Stdin is where sign and validate read; a variable for tests.
var Stdin io.Reader = os.Stdin

// readStdin reads all of stdin, at most max bytes.
func readStdin(cmd *cobra.Command, what string, max int) ([]byte, error) {
	if f, ok := Stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "(reading %s from stdin; end with Ctrl-D)\n", what)
		}
	}
	b, err := io.ReadAll(io.LimitReader(Stdin, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %v", err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("%s on stdin is larger than %d bytes", what, max)
	}
	return b, nil
}

// oneArg checks for exactly one non-empty argument.
func oneArg(args []string, name string) (string, error) {
	switch {
	case len(args) == 0:
		return "", usagef("missing <%s>", name)
	case len(args) > 1:
		return "", usagef("want one <%s>, got %d arguments: %s", name, len(args), strings.Join(args, " "))
	case args[0] == "":
		return "", usagef("empty <%s>", name)
	}
	return args[0], nil
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}
