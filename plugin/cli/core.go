package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kassa-edge/kassa/core/openapi"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
	"github.com/kassa-edge/kassa/plugin/engine"
)

func addEngineFlag(cmd *cobra.Command) {
	cmd.Flags().String("engine", "wasm", "run the core as `name`: wasm (the embedded module, under wazero) or native (compiled in)")
}

// newEngine returns the engine named by --engine.
func newEngine(ctx context.Context, cmd *cobra.Command) (engine.Engine, error) {
	name, _ := cmd.Flags().GetString("engine")
	switch name {
	case "native":
		return engine.NewNative(), nil
	case "wasm":
		w, err := engine.NewWasm(ctx, engine.WasmConfig{MaxInstances: 1})
		if err != nil {
			return nil, fmt.Errorf("starting the wasm engine: %v", err)
		}
		return w, nil
	}
	return nil, usagef("--engine: unknown engine %q (want wasm or native)", name)
}

// coreFailure turns an engine error into an exit status: the core's
// refusals (unknown operation or endpoint, missing field, bad control key)
// and engine faults are both "could not answer".
func coreFailure(err error) (int, error) {
	var ce *engine.CoreError
	if errors.As(err, &ce) {
		return ExitError, errors.New(ce.Message)
	}
	return ExitError, err
}

func signCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sign <operation> [--engine wasm|native] [--explain] [--verify <signature>]",
		Short: "Sign fields read from stdin with a Payneteasy operation",
		Long: `Reads a JSON object of fields on stdin: controlKey and the operation's
fields (strings, or integers for amounts and ids), and prints the signature.

Operations:
` + opsHelp() + `
Field names: controlKey, accessToken, serialNumber, endpointId, nonce,
invoiceId, amountCentis, currency, serverCardId, destinationServerCardId,
status, orderid, client_orderid, email, amountMinor. Unknown names are errors.

--explain also prints the operation, the fields in signing order and the
string to sign. For classic operations that string ends with the control
key: a warning says so on stderr; do not paste it anywhere.

--verify <signature> compares instead (hex case ignored): prints "valid"
and exits 0, or "mismatch" with the computed signature and exits 1.`,
		Example: `  $ echo '{"controlKey":"B17F59B4-A7DC-41B4-8FF9-37D986B43D20","serialNumber":"abcd",
      "nonce":"5678xyz","endpointId":"1111","invoiceId":"someUuid"}' | caddy kassa sign dapi.check-sale
  6AB5507CD443DCA47A906619E53CF855956D9D64`,
		Args: cobra.ArbitraryArgs,
	}
	addEngineFlag(cmd)
	cmd.Flags().Bool("explain", false, "also print the fields in order and the string to sign")
	cmd.Flags().String("verify", "", "compare with this `signature` instead of printing it")
	cmd.RunE = wrap(runSign)
	return cmd
}

func opsHelp() string {
	var b strings.Builder
	for _, op := range sign.Ops {
		fmt.Fprintf(&b, "  %-28s %s (%s)\n", op.ID, op.Summary, op.Produces)
	}
	return b.String()
}

func runSign(cmd *cobra.Command, args []string) (int, error) {
	opID, err := oneArg(args, "operation")
	if err != nil {
		return ExitError, err
	}
	explain, _ := cmd.Flags().GetBool("explain")
	verify, _ := cmd.Flags().GetString("verify")
	verifying := cmd.Flags().Changed("verify")
	if verifying && verify == "" {
		return ExitError, usagef("--verify: empty signature")
	}
	op := sign.Lookup(opID)
	if op == nil {
		ids := make([]string, len(sign.Ops))
		for i, o := range sign.Ops {
			ids[i] = o.ID
		}
		return ExitError, fmt.Errorf("unknown operation %q (want one of %s)", opID, strings.Join(ids, ", "))
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	eng, err := newEngine(ctx, cmd)
	if err != nil {
		return ExitError, err
	}
	defer eng.Close(ctx)
	fields, err := readStdin(cmd, "the fields (a JSON object)", engine.MaxInputSize-len(opID))
	if err != nil {
		return ExitError, err
	}
	if len(bytes.TrimSpace(fields)) == 0 {
		return ExitError, errors.New(`no fields on stdin: want a JSON object such as {"controlKey":"...","invoiceId":"..."}`)
	}
	sig, err := eng.Sign(ctx, opID, fields)
	if err != nil {
		return coreFailure(err)
	}
	out := cmd.OutOrStdout()
	if explain {
		fmt.Fprintf(out, "operation:      %s (%s)\n", op.ID, schemeText(op.Scheme))
		fmt.Fprintf(out, "fields:         %s\n", partsText(op))
		fmt.Fprintf(out, "string to sign: %s\n", sig.StringToSign)
		if op.Scheme == sign.Classic {
			fmt.Fprintln(cmd.ErrOrStderr(), "warning: the string to sign of a classic operation ends with the control key: do not log, paste or share it")
		}
		if !verifying {
			fmt.Fprintf(out, "signature:      %s\n", sig.Value)
		}
	}
	if verifying {
		if sign.EqualHex([]byte(sig.Value), strings.TrimSpace(verify)) {
			fmt.Fprintln(out, "valid")
			return ExitOK, nil
		}
		fmt.Fprintf(out, "mismatch: the signature of these fields is %s\n", sig.Value)
		return ExitNegative, nil
	}
	if !explain {
		fmt.Fprintln(out, sig.Value)
	}
	return ExitOK, nil
}

func schemeText(s sign.Scheme) string {
	if s == sign.Classic {
		return "classic: SHA-1 of the fields followed by the control key, lower-case hex"
	}
	return "DAPI: HMAC-SHA1 keyed with the hex-decoded control key, upper-case hex"
}

func partsText(op *sign.Op) string {
	parts := make([]string, 0, len(op.Parts)+1)
	for _, p := range op.Parts {
		name := sign.FieldNames[p.Field]
		if p.Optional {
			name = "[" + name + "]"
		}
		parts = append(parts, name)
	}
	if op.Scheme == sign.Classic {
		parts = append(parts, "controlKey")
	}
	return strings.Join(parts, " + ")
}

func validateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate <endpoint> [--engine wasm|native] [--query]",
		Short: "Validate a request or response body read from stdin",
		Long: `Validates the body on stdin (or, with --query, a raw query string such as
status=approved&orderid=1 — a leading '?' and trailing newlines are
ignored) as the endpoint, e.g. payneteasy.check-sale or
payneteasy.initiate-sale.response ('caddy kassa spec' lists them).

Prints "valid" and exits 0, or prints the violations and exits 1: a JSON
array, indented by two spaces, of {"path","rule","message"} where rule is
one of required, type, length, range, enum, pattern, oneof, conditional,
json. An unknown endpoint exits 2.`,
		Example: `  $ caddy kassa validate payneteasy.check-sale < body.json
  $ echo 'status=approved&orderid=1' | caddy kassa validate payneteasy.callback --query`,
		Args: cobra.ArbitraryArgs,
	}
	addEngineFlag(cmd)
	cmd.Flags().Bool("query", false, "stdin is a raw query string, not a body")
	cmd.RunE = wrap(runValidate)
	return cmd
}

func runValidate(cmd *cobra.Command, args []string) (int, error) {
	endpoint, err := oneArg(args, "endpoint")
	if err != nil {
		return ExitError, err
	}
	if spec.Lookup(endpoint) == nil {
		return ExitError, fmt.Errorf("unknown endpoint %q ('caddy kassa spec' lists them)", endpoint)
	}
	query, _ := cmd.Flags().GetBool("query")
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	eng, err := newEngine(ctx, cmd)
	if err != nil {
		return ExitError, err
	}
	defer eng.Close(ctx)
	what := "the body"
	if query {
		what = "the query string"
	}
	in, err := readStdin(cmd, what, engine.MaxInputSize-len(endpoint))
	if err != nil {
		return ExitError, err
	}
	var res validate.Result
	if query {
		q := strings.TrimRight(string(in), "\r\n")
		q = strings.TrimPrefix(q, "?")
		res, err = eng.ValidateQuery(ctx, endpoint, q)
	} else {
		res, err = eng.Validate(ctx, endpoint, in)
	}
	if err != nil {
		return coreFailure(err)
	}
	out := cmd.OutOrStdout()
	if res.Valid && len(res.Violations) == 0 {
		fmt.Fprintln(out, "valid")
		return ExitOK, nil
	}
	b, err := violationsJSON(res.Violations)
	if err != nil {
		return ExitError, err
	}
	out.Write(b)
	return ExitNegative, nil
}

// violationsJSON is the violations as a JSON array indented by two spaces,
// with a final newline.
func violationsJSON(vs []validate.Violation) ([]byte, error) {
	if vs == nil {
		vs = []validate.Violation{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vs); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func specCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "spec [--openapi]",
		Short: "List the endpoint ids, or print the OpenAPI 3.1 document",
		Long: `Lists the endpoint ids that 'caddy kassa validate' accepts, one per line,
sorted: <provider>.<operation> for requests and <provider>.<operation>.response
for responses. With --openapi, prints one OpenAPI 3.1 document (JSON) that
describes every endpoint, with paths under /<provider>/.`,
		Args: cobra.ArbitraryArgs,
	}
	cmd.Flags().Bool("openapi", false, "print the OpenAPI 3.1 document instead")
	cmd.RunE = wrap(func(cmd *cobra.Command, args []string) (int, error) {
		if err := noArgs(args); err != nil {
			return ExitError, err
		}
		out := cmd.OutOrStdout()
		if o, _ := cmd.Flags().GetBool("openapi"); o {
			doc := openapi.Document()
			out.Write(doc)
			if !bytes.HasSuffix(doc, []byte("\n")) {
				fmt.Fprintln(out)
			}
			return ExitOK, nil
		}
		var b strings.Builder
		for _, ep := range spec.All() {
			b.WriteString(ep.ID)
			b.WriteByte('\n')
		}
		fmt.Fprint(out, b.String())
		return ExitOK, nil
	})
	return cmd
}
