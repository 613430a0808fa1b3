package payneteasy_test

import (
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
)

// configFile builds a Caddyfile for `caddy validate` from a payneteasy
// block body and the kassa global block body.
func configFile(global, site, block string) string {
	return `{
	admin off
	kassa {
` + global + `
	}
}
http://127.0.0.1:9 {
	handle_path /pne/* {
		kassa ` + site + ` {
` + block + `
		}
		reverse_proxy 127.0.0.1:10
	}
}
`
}

const goodGlobal = "\t\tengine native\n\t\tstore bolt {{DIR}}/kassa.db"

// goodBlock is valid; cases derive from it by replacing or removing lines.
var goodBlock = []string{
	"endpoint_id 1111",
	"control_key {env.PNE_CONTROL_KEY}",
	"gateway https://sandbox.payneteasy.com/paynet",
	"events http://127.0.0.1:10/events",
	"events_secret {env.KASSA_EVENTS_SECRET}",
	"session_ttl 30m",
}

func block(drop string, add ...string) string {
	var out []string
	for _, l := range goodBlock {
		if drop != "" && strings.HasPrefix(l, drop+" ") {
			continue
		}
		out = append(out, "\t\t\t"+l)
	}
	for _, l := range add {
		out = append(out, "\t\t\t"+l)
	}
	return strings.Join(out, "\n")
}

// TestCaddyfileValidation: every bad configuration fails `caddy validate`
// with a message naming the subdirective at fault; the good one passes.
func TestCaddyfileValidation(t *testing.T) {
	t.Parallel()
	secret, _ := newEventsSecret()
	baseEnv := map[string]string{"PNE_CONTROL_KEY": controlKey, "KASSA_EVENTS_SECRET": secret}
	cases := []struct {
		name   string
		global string
		site   string
		block  string
		env    map[string]string
		want   []string // all must appear in the output; nil: must pass
	}{
		{name: "good", block: block("")},
		{name: "good, lower-case key", block: block(""), env: map[string]string{"PNE_CONTROL_KEY": strings.ToLower(controlKey)}},
		{name: "unknown subdirective", block: block("", "colour blue"), want: []string{"colour"}},
		{name: "missing endpoint_id", block: block("endpoint_id"), want: []string{"endpoint_id"}},
		{name: "endpoint_id with a slash", block: block("endpoint_id", "endpoint_id 11/11"), want: []string{"endpoint_id"}},
		{name: "missing control_key", block: block("control_key"), want: []string{"control_key"}},
		{name: "literal control_key", block: block("control_key", "control_key "+controlKey), want: []string{"control_key"}},
		{name: "unset env var", block: block("control_key", "control_key {env.PNE_KEY_THAT_IS_NOT_SET}"), want: []string{"control_key"}},
		{name: "empty env var", block: block(""), env: map[string]string{"PNE_CONTROL_KEY": ""}, want: []string{"control_key"}},
		{name: "key not hex", block: block(""), env: map[string]string{"PNE_CONTROL_KEY": "G17F59B4-A7DC-41B4-8FF9-37D986B43D2Z"}, want: []string{"control_key"}},
		{name: "key odd length hex", block: block(""), env: map[string]string{"PNE_CONTROL_KEY": "B17F59B4-A7DC-41B4-8FF9-37D986B43D2"}, want: []string{"control_key"}},
		// PROVIDERS.md 1.2: the key is the control key without dashes,
		// hex-decoded to 16 bytes. A truncated key signs everything wrong.
		{name: "key decodes to 2 bytes, not 16", block: block(""), env: map[string]string{"PNE_CONTROL_KEY": "ABCD"}, want: []string{"control_key"}},
		{name: "key decodes to 17 bytes, not 16", block: block(""), env: map[string]string{"PNE_CONTROL_KEY": controlKey + "AB"}, want: []string{"control_key"}},
		{name: "control_key with two values", block: block("control_key", "control_key {env.PNE_CONTROL_KEY} extra"), want: []string{"control_key"}},
		{name: "missing gateway", block: block("gateway"), want: []string{"gateway"}},
		{name: "gateway not http", block: block("gateway", "gateway ftp://sandbox.payneteasy.com/paynet"), want: []string{"gateway"}},
		{name: "gateway without host", block: block("gateway", "gateway https:///paynet"), want: []string{"gateway"}},
		{name: "gateway not a URL", block: block("gateway", "gateway sandbox.payneteasy.com/paynet"), want: []string{"gateway"}},
		{name: "gateway unparsable", block: block("gateway", "gateway http://[::1"), want: []string{"gateway"}},
		{name: "events without events_secret", block: block("events_secret"), want: []string{"events_secret"}},
		{name: "events_secret without events", block: block("events"), want: []string{"events"}},
		{name: "events_secret literal", block: block("events_secret", "events_secret "+secret), want: []string{"events_secret"}},
		{name: "events_secret not base64", block: block(""), env: map[string]string{"KASSA_EVENTS_SECRET": "whsec_***not base64***"}, want: []string{"events_secret"}},
		{name: "events not a URL", block: block("events", "events mailto:x@y"), want: []string{"events"}},
		{name: "bad duration", block: block("session_ttl", "session_ttl soon"), want: []string{"session_ttl"}},
		{name: "zero duration", block: block("session_ttl", "session_ttl 0s"), want: []string{"session_ttl"}},
		{name: "negative gateway_timeout", block: block("", "gateway_timeout -1s"), want: []string{"gateway_timeout"}},
		{name: "duration without value", block: block("session_ttl", "session_ttl"), want: []string{"session_ttl"}},
		{name: "unknown provider", site: "foo", block: block(""), want: []string{"foo"}},
		{name: "no provider", site: " ", block: block(""), want: []string{"provider"}},
		{name: "unknown global subdirective", global: goodGlobal + "\n\t\tbogus 1", block: block(""), want: []string{"bogus"}},
		{name: "unknown engine", global: "\t\tengine jit", block: block(""), want: []string{"engine"}},
		{name: "store postgres without DSN", global: "\t\tengine native\n\t\tstore postgres", block: block(""), want: []string{"store", "postgres"}},
		{name: "unknown store", global: "\t\tengine native\n\t\tstore redis", block: block(""), want: []string{"store"}},
		{name: "unknown outbox option", global: goodGlobal + "\n\t\toutbox {\n\t\t\tspeed 3\n\t\t}", block: block(""), want: []string{"speed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			global := c.global
			if global == "" {
				global = goodGlobal
			}
			site := c.site
			if site == "" {
				site = "payneteasy"
			}
			env := map[string]string{}
			for k, v := range baseEnv {
				env[k] = v
			}
			for k, v := range c.env {
				env[k] = v
			}
			dir := t.TempDir()
			cf := strings.ReplaceAll(configFile(global, site, c.block), "{{DIR}}", dir)
			out, err := testenv.TryRun(t, cf, env, "validate")
			if c.want == nil {
				if err != nil {
					t.Errorf("valid config rejected: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Errorf("bad config accepted:\n%s\n%s", cf, out)
				return
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("the error does not name %q:\n%s", w, lastLines(out, 4))
				}
			}
			// Secrets from the environment never appear in error messages.
			if strings.Contains(c.name, "literal") {
				return
			}
			for _, s := range []string{controlKey, strings.TrimPrefix(secret, "whsec_")} {
				if strings.Contains(out, s) {
					t.Errorf("the output reveals a secret:\n%s", out)
				}
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestCaddyfileAdapt: `caddy adapt` mirrors the Caddyfile in JSON
// (INTERFACE.md 2) and keeps secrets as placeholders.
func TestCaddyfileAdapt(t *testing.T) {
	t.Parallel()
	secret, _ := newEventsSecret()
	cf := strings.ReplaceAll(configFile(goodGlobal, "payneteasy", block("", "gateway_timeout 5s")), "{{DIR}}", t.TempDir())
	out, err := testenv.TryRun(t, cf, map[string]string{"PNE_CONTROL_KEY": controlKey, "KASSA_EVENTS_SECRET": secret}, "adapt")
	if err != nil {
		t.Fatalf("adapt: %v\n%s", err, out)
	}
	for _, want := range []string{`"kassa"`, `"engine":"native"`, `"payneteasy"`, `"endpoint_id":"1111"`,
		`"control_key":"{env.PNE_CONTROL_KEY}"`, `"events_secret":"{env.KASSA_EVENTS_SECRET}"`,
		`"gateway":"https://sandbox.payneteasy.com/paynet"`, `"session_ttl":1800000000000`, `"gateway_timeout":5000000000`} {
		if !strings.Contains(out, want) {
			t.Errorf("adapted JSON lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, controlKey) || strings.Contains(out, strings.TrimPrefix(secret, "whsec_")) {
		t.Errorf("adapted JSON holds a secret:\n%s", out)
	}
}
