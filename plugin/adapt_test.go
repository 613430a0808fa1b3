package kassa_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/kassa-edge/kassa/plugin"
)

var update = flag.Bool("update", false, "rewrite the golden .json files")

func adapt(t *testing.T, src string) ([]byte, error) {
	t.Helper()
	a := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
	out, warns, err := a.Adapt([]byte(src), nil)
	for _, w := range warns {
		t.Logf("warning: %s", w.Message)
	}
	return out, err
}

// TestAdaptFixtures adapts each testdata/adapt/*.caddyfile and compares the
// JSON with the golden file beside it (go test -update rewrites them).
func TestAdaptFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/adapt/*.caddyfile")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, _ := os.ReadFile(f)
			out, err := adapt(t, string(src))
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			json.Indent(&pretty, out, "", "\t")
			pretty.WriteByte('\n')
			golden := strings.TrimSuffix(f, ".caddyfile") + ".json"
			if *update {
				os.WriteFile(golden, pretty.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("adapted config differs from %s:\n%s", golden, pretty.String())
			}
			// Secrets stay placeholders: adapt output never holds a value.
			if strings.Contains(pretty.String(), "B17F59B4") {
				t.Error("a secret value reached the adapted config")
			}
		})
	}
}

// TestAdaptErrors: bad Caddyfiles fail to adapt with a message that names
// what is wrong.
func TestAdaptErrors(t *testing.T) {
	site := func(body string) string { return "example.com {\n" + body + "\n}\n" }
	for _, tc := range []struct{ name, src, want string }{
		{"no provider", site("kassa"), "missing provider"},
		{"unknown provider", site("kassa stripe"), `unknown provider "stripe"`},
		{"unknown global sub", "{\n kassa {\n  turbo on\n }\n}\n" + site("respond 1"), `unknown global subdirective "turbo"`},
		{"bad engine", "{\n kassa {\n  engine jit\n }\n}\n" + site("respond 1"), `unknown engine "jit"`},
		{"bad store", "{\n kassa {\n  store redis\n }\n}\n" + site("respond 1"), `unknown store "redis"`},
		{"postgres no dsn", "{\n kassa {\n  store postgres\n }\n}\n" + site("respond 1"), "missing DSN"},
		{"bad max_body", "{\n kassa {\n  max_body lots\n }\n}\n" + site("respond 1"), "max_body"},
		{"tiny max_body", "{\n kassa {\n  max_body 10B\n }\n}\n" + site("respond 1"), "at least 1KiB"},
		{"bad instances", "{\n kassa {\n  instances -2\n }\n}\n" + site("respond 1"), "instances"},
		{"bad outbox duration", "{\n kassa {\n  outbox {\n   max_age soon\n  }\n }\n}\n" + site("respond 1"), "outbox max_age"},
		{"unknown outbox option", "{\n kassa {\n  outbox {\n   speed 1s\n  }\n }\n}\n" + site("respond 1"), `unknown option "speed"`},
		{"extra engine arg", "{\n kassa {\n  engine wasm fast\n }\n}\n" + site("respond 1"), "too many arguments"},
		{"pne unknown sub", site("kassa payneteasy {\n endpoint_id 1\n color red\n}"), `unknown subdirective "color"`},
		{"pne bad duration", site("kassa payneteasy {\n session_ttl forever\n}"), "session_ttl"},
		{"pne missing value", site("kassa payneteasy {\n gateway\n}"), "gateway: needs one value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := adapt(t, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
