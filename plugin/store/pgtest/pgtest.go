// Package pgtest runs a real, throwaway PostgreSQL server for tests.
//
// One server is started per test binary, on first use, from the
// PostgreSQL binaries on PATH or under /usr/lib/postgresql/*/bin; each
// Start call gets a fresh database on it, so tests are isolated. Call
// Stop from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pgtest.Stop()
//		os.Exit(code)
//	}
//
// When the binaries are missing, tests are skipped, unless CI is set or
// KASSA_REQUIRE_PG=1, where they fail: install them with
// `apt-get install -y postgresql`.
//
// PostgreSQL refuses to run as root, so under root the server runs as the
// postgres system user (created by the Debian package) via setpriv or
// runuser. The server runs with fsync off: it is for tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the role initdb creates; tests connect as it.
const superuser = "kassa"

// startTimeout bounds how long the server may take to accept connections.
const startTimeout = 30 * time.Second

var (
	mu sync.Mutex
	// srv is the shared server, nil until first use.
	srv *server
	// startErr is sticky: after a failed start, every test fails the
	// same way instead of each retrying initdb.
	startErr error
)

// server is one PostgreSQL cluster in a temporary directory.
type server struct {
	bin      string // directory holding initdb and postgres
	dir      string // temp dir: data/, pwfile, socket, log
	password string
	port     int
	runAs    *user.User // nil: run as ourselves

	cmd    *exec.Cmd // the running postgres, nil when stopped
	exited chan struct{}
}

// Start returns the DSN of a new, empty database on the shared server,
// starting the server if this is the first call.
func Start(tb testing.TB) (dsn string) {
	tb.Helper()
	s := shared(tb)
	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	return s.dsn(name)
}

// Stop stops the shared server, if started, and deletes its data. Call it
// from TestMain after m.Run.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil {
		return
	}
	if err := srv.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
	if err := os.RemoveAll(srv.dir); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
	srv, startErr = nil, nil
}

// StopServer stops the shared server, keeping its data, to test how code
// copes with the database going away. Tests using it must not run in
// parallel with other tests on the server.
func StopServer(tb testing.TB) {
	tb.Helper()
	s := shared(tb)
	mu.Lock()
	defer mu.Unlock()
	if err := s.stop(); err != nil {
		tb.Fatal(err)
	}
}

// StartServer starts the shared server again after StopServer, on the
// same port and data, so existing DSNs work again.
func StartServer(tb testing.TB) {
	tb.Helper()
	s := shared(tb)
	mu.Lock()
	defer mu.Unlock()
	if s.cmd != nil {
		return
	}
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
}

// Restart stops and starts the shared server, dropping every connection.
func Restart(tb testing.TB) {
	tb.Helper()
	StopServer(tb)
	StartServer(tb)
}

// shared returns the running shared server, starting it on first use. It
// skips or fails tb when that is impossible.
func shared(tb testing.TB) *server {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if srv == nil && startErr == nil {
		srv, startErr = newServer()
	}
	var missing *missingError
	switch {
	case errors.As(startErr, &missing) && os.Getenv("CI") == "" && os.Getenv("KASSA_REQUIRE_PG") != "1":
		tb.Skipf("pgtest: %v", startErr)
	case startErr != nil:
		tb.Fatalf("pgtest: %v", startErr)
	}
	return srv
}

// missingError means PostgreSQL is not installed.
type missingError struct{ msg string }

func (e *missingError) Error() string { return e.msg }

// newServer initializes a cluster in a new temp dir and starts it.
func newServer() (*server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, password: randomHex(16)}
	if os.Geteuid() == 0 {
		if s.runAs, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: need the postgres system user to run it as (%w)", err)
		}
	}
	if s.dir, err = os.MkdirTemp("", "kassa-pgtest-"); err != nil {
		return nil, err
	}
	if err := s.initdb(); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	if s.port, err = freePort(); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	if err := s.start(); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	return s, nil
}

// findBin locates the directory with initdb and postgres: PATH first,
// then the newest /usr/lib/postgresql/<version>/bin (Debian, Ubuntu).
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", &missingError{"PostgreSQL server binaries (initdb, postgres) not found on PATH or under /usr/lib/postgresql/*/bin; install them with `apt-get install -y postgresql`"}
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func (s *server) initdb() error {
	pwfile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return err
	}
	if s.runAs != nil {
		uid, _ := strconv.Atoi(s.runAs.Uid)
		gid, _ := strconv.Atoi(s.runAs.Gid)
		for _, p := range []string{s.dir, pwfile} {
			if err := os.Chown(p, uid, gid); err != nil {
				return err
			}
		}
	}
	cmd := s.command("initdb", "-D", filepath.Join(s.dir, "data"), "-U", superuser,
		"--pwfile="+pwfile, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// start runs postgres and waits until it accepts connections.
func (s *server) start() error {
	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := s.command("postgres", "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=300",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait() //nolint:errcheck // exit status is in the log
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.dsn("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("postgres exited during startup:\n%s", tail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop() //nolint:errcheck // reporting the timeout instead
			return fmt.Errorf("postgres not ready after %s: %v\n%s", startTimeout, err, tail(logPath))
		}
	}
}

// stop shuts postgres down with SIGINT (fast shutdown: aborts sessions)
// and waits for it to exit.
func (s *server) stop() error {
	if s.cmd == nil {
		return nil
	}
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop postgres: %w", err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(startTimeout):
		cmd.Process.Kill() //nolint:errcheck // best effort
		<-exited
		return fmt.Errorf("postgres did not shut down within %s; killed it", startTimeout)
	}
}

// command runs a PostgreSQL binary, as the postgres user when we are root.
// The child gets SIGINT if the test binary dies, so a crashed test run
// leaves no server behind.
func (s *server) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	switch {
	case s.runAs == nil:
		cmd = exec.Command(path, args...)
		setPdeathsig(cmd)
	case lookPath("setpriv") != "":
		// setpriv execs in place; --pdeathsig re-arms the parent-death
		// signal that the uid change clears.
		cmd = exec.Command(lookPath("setpriv"), append([]string{
			"--reuid=" + s.runAs.Uid, "--regid=" + s.runAs.Gid, "--init-groups",
			"--pdeathsig=INT", "--", path}, args...)...)
	default:
		cmd = exec.Command(lookPath("runuser"), append([]string{"-u", s.runAs.Username, "--", path}, args...)...)
	}
	// The postgres user may not be able to enter our working directory.
	cmd.Dir = s.dir
	return cmd
}

func lookPath(name string) string {
	p, _ := exec.LookPath(name)
	return p
}

func (s *server) dsn(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, s.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before postgres binds it; in a test environment that is rare.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of the server log, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return strings.TrimSpace(string(b))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
