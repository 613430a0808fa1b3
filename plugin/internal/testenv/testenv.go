// Package testenv runs real Caddy processes (bin/caddy built from
// ./caddy) for end-to-end tests, each with its own ports, data directory
// and log, and stops them when the test ends.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Root returns the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// Binary returns the path of a Caddy binary with kassa, built once per test
// binary from the current sources (KASSA_CADDY overrides it).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KASSA_CADDY"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kassa-caddy-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "caddy")
		cmd := exec.Command("go", "build", "-o", binPath, "./caddy")
		cmd.Dir = Root()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./caddy: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ShareWazeroCache links the wazero compilation cache of an instance
// directory (under Caddy's data directory, data/caddy/kassa/wazero-cache)
// to one shared by every test run, so only the first run compiles
// kassa.wasm.
func ShareWazeroCache(t testing.TB, dir string) {
	t.Helper()
	shared := filepath.Join(os.TempDir(), "kassa-test-wazero-cache")
	parent := filepath.Join(dir, "data", "caddy", "kassa")
	if err := os.MkdirAll(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(parent, "wazero-cache")); err != nil {
		t.Fatal(err)
	}
}

// CheckJSONError checks kassa's Smarts and Voyado error answer: JSON
// {"error":"...","violations":[{"path","rule","message"}...]?} and nothing
// else, each violation with a rule and a message. It returns the rules.
func CheckJSONError(header http.Header, body []byte) (rules []string, err error) {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	var e struct {
		Error      *string
		Violations []struct{ Path, Rule, Message string }
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == nil || *e.Error == "" {
		return nil, fmt.Errorf("not {\"error\":\"...\",\"violations\"?}: %v", err)
	}
	for _, v := range e.Violations {
		if v.Rule == "" || v.Message == "" {
			return nil, fmt.Errorf("violation without rule or message: %+v", v)
		}
		rules = append(rules, v.Rule)
	}
	return rules, nil
}

// Instance is one running Caddy.
type Instance struct {
	t       testing.TB
	Port    int    // the HTTP port of the site
	URL     string // http://127.0.0.1:<Port>
	Admin   string // admin address host:port
	Dir     string // home of this instance: data, config, log
	Config  string // path of the Caddyfile
	Env     []string
	cmd     *exec.Cmd
	exited  chan struct{}
	log     *os.File
	stopped bool
}

// Options for Start.
type Options struct {
	Env  map[string]string
	Dir  string // reuse a directory (to restart on the same data); default t.TempDir()
	Port int    // default: a free port
}

// Start writes caddyfile (with {{PORT}}, {{ADMIN}} and {{DIR}} replaced)
// and runs Caddy on it until the test ends.
func Start(t testing.TB, caddyfile string, opt Options) *Instance {
	t.Helper()
	bin := Binary(t)
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	if opt.Port == 0 {
		opt.Port = FreePort(t)
	}
	in := &Instance{t: t, Port: opt.Port, Dir: opt.Dir}
	in.URL = fmt.Sprintf("http://127.0.0.1:%d", in.Port)
	in.Admin = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	cf := strings.NewReplacer("{{PORT}}", fmt.Sprint(in.Port), "{{ADMIN}}", in.Admin, "{{DIR}}", in.Dir).Replace(caddyfile)
	in.Config = filepath.Join(in.Dir, "Caddyfile")
	if err := os.WriteFile(in.Config, []byte(cf), 0o600); err != nil {
		t.Fatal(err)
	}
	in.Env = append(os.Environ(),
		"XDG_DATA_HOME="+filepath.Join(in.Dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(in.Dir, "config"),
		"HOME="+in.Dir,
	)
	for k, v := range opt.Env {
		in.Env = append(in.Env, k+"="+v)
	}
	in.start(bin)
	t.Cleanup(in.Stop)
	return in
}

func (in *Instance) start(bin string) {
	t := in.t
	t.Helper()
	f, err := os.OpenFile(filepath.Join(in.Dir, "caddy.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	in.log = f
	in.cmd = exec.Command(bin, "run", "--config", in.Config, "--adapter", "caddyfile")
	in.cmd.Env = in.Env
	in.cmd.Dir = in.Dir
	in.cmd.Stdout, in.cmd.Stderr = f, f
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.stopped = false
	exited := make(chan struct{})
	in.exited = exited
	go func() { in.cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("caddy exited during start:\n%s", in.Logs())
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", in.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("caddy did not start listening within 60s:\n%s", in.Logs())
}

// TryRun runs the binary with args and a Caddyfile, like Start but returns the process's failure instead of
// failing the test (for configs that must be rejected).
func TryRun(t testing.TB, caddyfile string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary(t), append(args, "--config", path, "--adapter", "caddyfile")...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "HOME="+dir)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-ctx.Done():
		cmd.Process.Kill()
		return out.String(), fmt.Errorf("timed out")
	}
}

// Logs returns everything the process logged.
func (in *Instance) Logs() string {
	b, _ := os.ReadFile(filepath.Join(in.Dir, "caddy.log"))
	return string(b)
}

// Stop ends the process gracefully (SIGTERM, then SIGKILL after 10 s).
func (in *Instance) Stop() {
	if in.stopped || in.cmd == nil || in.cmd.Process == nil {
		return
	}
	in.stopped = true
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(10 * time.Second):
		in.cmd.Process.Kill()
		<-in.exited
	}
	in.log.Close()
}

// Kill ends the process with SIGKILL, as a crash would.
func (in *Instance) Kill() {
	if in.stopped {
		return
	}
	in.stopped = true
	in.cmd.Process.Kill()
	<-in.exited
	in.log.Close()
}

// Restart starts the process again on the same config, ports and data.
func (in *Instance) Restart() {
	in.t.Helper()
	in.Stop()
	in.start(Binary(in.t))
}

// Reload posts the Caddyfile (rewritten by the caller, if at all) to the
// admin API, as `caddy reload` does.
func (in *Instance) Reload() error {
	cf, err := os.ReadFile(in.Config)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+in.Admin+"/load", bytes.NewReader(cf))
	req.Header.Set("Content-Type", "text/caddyfile")
	req.Header.Set("Cache-Control", "must-revalidate") // reload even if unchanged
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return fmt.Errorf("reload: %s: %s", resp.Status, b.String())
	}
	return nil
}

// PID returns the process id.
func (in *Instance) PID() int { return in.cmd.Process.Pid }

// Do sends req, and sends it once more if the connection closed before any
// answer (io.EOF, or a reset while the request was being written). Right
// after a reload the old server can still accept a connection and then
// close it unanswered (Caddy stops accepting "unless the scheduler pauses
// it right before Shutdown", caddyhttp.App.Stop), and Go's client resends
// only idempotent requests by itself. A real client (the gateway, a
// browser) retries too; a server that is really down fails the second
// attempt as well.
func Do(client *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := client.Do(req)
	closed := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
	if err == nil || !closed || (req.Body != nil && req.GetBody == nil) {
		return resp, err
	}
	if req.GetBody != nil {
		body, berr := req.GetBody()
		if berr != nil {
			return nil, err
		}
		req.Body = body
	}
	client.CloseIdleConnections()
	return client.Do(req)
}
