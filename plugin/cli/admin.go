package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

const adminHelp = `

The admin endpoint is --address, else the admin address of the --config
file (adapted with --adapter), else localhost:2019 — as for 'caddy reload'.
Answers are printed as indented JSON. A 404 or 409 from the server (not
found, not dead) exits 1; an unreachable endpoint or other failure exits 2.`

func addAdminFlags(cmd *cobra.Command) {
	cmd.Flags().String("address", "", "the admin API `address` of the running Caddy (host:port or unix/path)")
	cmd.Flags().StringP("config", "c", "", "take the admin address from this config `file`")
	cmd.Flags().StringP("adapter", "a", "", "name of the config `adapter` for --config")
}

func invoicesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invoices [--after <id>] [--limit <n>] [--address <host:port>] [--config <file>]",
		Short: "List the archived Smarts invoices of a running server",
		Long: `Lists the Smarts invoices kassa archived, in id order:
{"invoices":[{"id","receivedAt","invoice"}...],"next":"<id>"}. "next",
present when there are more, is the --after of the next page. Smarts keeps
detailed invoices for two months only: this is kassa's own copy.` + adminHelp,
		Args: cobra.ArbitraryArgs,
	}
	cmd.Flags().String("after", "", "list invoices whose id sorts after this `id`")
	cmd.Flags().Int("limit", 50, "at most `n` invoices (1-1000)")
	addAdminFlags(cmd)
	cmd.RunE = wrap(func(cmd *cobra.Command, args []string) (int, error) {
		if err := noArgs(args); err != nil {
			return ExitError, err
		}
		q := url.Values{}
		if after, _ := cmd.Flags().GetString("after"); after != "" {
			q.Set("after", after)
		}
		if err := limitParam(cmd, q); err != nil {
			return ExitError, err
		}
		return adminCall(cmd, http.MethodGet, "/kassa/invoices", q)
	})
	return cmd
}

func invoiceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invoice <id> [--address <host:port>] [--config <file>]",
		Short: "Print one archived Smarts invoice of a running server",
		Long: `Prints the archived invoice with this id (as listed by 'caddy kassa invoices'):
{"id","receivedAt","invoice"}.` + adminHelp,
		Args: cobra.ArbitraryArgs,
	}
	addAdminFlags(cmd)
	cmd.RunE = wrap(func(cmd *cobra.Command, args []string) (int, error) {
		id, err := oneArg(args, "id")
		if err != nil {
			return ExitError, err
		}
		return adminCall(cmd, http.MethodGet, "/kassa/invoices/"+url.PathEscape(id), nil)
	})
	return cmd
}

func deliveriesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deliveries [--state pending|done|dead] [--target <name>] [--limit <n>] [--body] [--address <host:port>] [--config <file>]",
		Short: "List the outbox deliveries of a running server",
		Long: `Lists the deliveries in kassa's outbox (events to the merchant, notifications
to providers), oldest first: {"deliveries":[{"id","target","state",
"attempts","created","next","done","lastError","method","url"}...]}, with
"header" and "body" as well when --body is given. Deliveries hold no
secrets: senders add credentials when they send.` + adminHelp,
		Args: cobra.ArbitraryArgs,
	}
	cmd.Flags().String("state", "", "only deliveries in this `state`: pending, done or dead")
	cmd.Flags().String("target", "", "only deliveries of this `target`, e.g. smarts/smarts (<provider>/<handler name>)")
	cmd.Flags().Int("limit", 100, "at most `n` deliveries (1-1000)")
	cmd.Flags().Bool("body", false, "include headers and bodies")
	addAdminFlags(cmd)
	cmd.RunE = wrap(func(cmd *cobra.Command, args []string) (int, error) {
		if err := noArgs(args); err != nil {
			return ExitError, err
		}
		q := url.Values{}
		state, _ := cmd.Flags().GetString("state")
		switch state {
		case "", "pending", "done", "dead":
		default:
			return ExitError, usagef("--state: %q is not pending, done or dead", state)
		}
		if state != "" {
			q.Set("state", state)
		}
		if target, _ := cmd.Flags().GetString("target"); target != "" {
			q.Set("target", target)
		}
		if err := limitParam(cmd, q); err != nil {
			return ExitError, err
		}
		if body, _ := cmd.Flags().GetBool("body"); body {
			q.Set("body", "1")
		}
		return adminCall(cmd, http.MethodGet, "/kassa/deliveries", q)
	})
	return cmd
}

func deliveryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delivery <id> [--body] [--address <host:port>] [--config <file>]",
		Short: "Print one outbox delivery of a running server",
		Long:  `Prints the delivery with this id; with --body, its headers and body too.` + adminHelp,
		Args:  cobra.ArbitraryArgs,
	}
	cmd.Flags().Bool("body", false, "include headers and body")
	addAdminFlags(cmd)
	cmd.RunE = wrap(func(cmd *cobra.Command, args []string) (int, error) {
		id, err := oneArg(args, "id")
		if err != nil {
			return ExitError, err
		}
		q := url.Values{}
		if body, _ := cmd.Flags().GetBool("body"); body {
			q.Set("body", "1")
		}
		return adminCall(cmd, http.MethodGet, "/kassa/deliveries/"+url.PathEscape(id), q)
	})
	return cmd
}

func requeueCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "requeue <id> [--address <host:port>] [--config <file>]",
		Short: "Move a dead delivery back to pending on a running server",
		Long: `Moves the dead delivery with this id back to pending, due now, with its
attempts reset, and prints it. A delivery that is not dead is left alone
(exit 1).` + adminHelp,
		Args: cobra.ArbitraryArgs,
	}
	addAdminFlags(cmd)
	cmd.RunE = wrap(func(cmd *cobra.Command, args []string) (int, error) {
		id, err := oneArg(args, "id")
		if err != nil {
			return ExitError, err
		}
		return adminCall(cmd, http.MethodPost, "/kassa/deliveries/"+url.PathEscape(id)+"/requeue", nil)
	})
	return cmd
}

func limitParam(cmd *cobra.Command, q url.Values) error {
	if !cmd.Flags().Changed("limit") {
		return nil
	}
	n, _ := cmd.Flags().GetInt("limit")
	if n < 1 || n > 1000 {
		return usagef("--limit: %d is not from 1 to 1000", n)
	}
	q.Set("limit", strconv.Itoa(n))
	return nil
}

// adminAddress determines the admin endpoint as `caddy reload` does.
func adminAddress(cmd *cobra.Command) (string, error) {
	address, _ := cmd.Flags().GetString("address")
	configFile, _ := cmd.Flags().GetString("config")
	adapter, _ := cmd.Flags().GetString("adapter")
	if adapter != "" && configFile == "" {
		return "", usagef("--adapter needs --config")
	}
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, configFile, adapter)
	if err != nil {
		return "", fmt.Errorf("cannot determine the admin API address: %v", err)
	}
	return addr, nil
}

// respErr is how caddycmd.AdminAPIRequest reports an error status.
var respErr = regexp.MustCompile(`(?s)^caddy responded with error: HTTP (\d{3}): (.*)$`)

// adminCall sends the request and prints the JSON answer indented.
func adminCall(cmd *cobra.Command, method, path string, q url.Values) (int, error) {
	addr, err := adminAddress(cmd)
	if err != nil {
		return ExitError, err
	}
	uri := path
	if len(q) > 0 {
		uri += "?" + q.Encode()
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, uri, nil, nil)
	if err != nil {
		if m := respErr.FindStringSubmatch(err.Error()); m != nil {
			status, _ := strconv.Atoi(m[1])
			msg := serverMessage(m[2])
			if status == http.StatusNotFound && !strings.HasPrefix(strings.TrimSpace(m[2]), "{") {
				msg += " (is the kassa admin module, admin.api.kassa, in this Caddy?)"
			}
			code := ExitError
			if status == http.StatusNotFound || status == http.StatusConflict {
				code = ExitNegative
			}
			return code, errors.New(msg)
		}
		return ExitError, fmt.Errorf("admin API at %s: %v (is Caddy running there? see --address and --config)", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return ExitError, fmt.Errorf("reading the answer: %v", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		return ExitError, fmt.Errorf("the answer is not JSON: %v", err)
	}
	out.WriteByte('\n')
	cmd.OutOrStdout().Write(out.Bytes())
	return ExitOK, nil
}

// serverMessage extracts the message of Caddy's {"error":"..."} answer.
func serverMessage(body string) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(body)
}
