package store_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

func openBolt(t *testing.T, path string) *store.Bolt {
	t.Helper()
	b, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		path := filepath.Join(t.TempDir(), "sub", "kassa.db")
		return openBolt(t, path), func(t *testing.T) store.Store { return openBolt(t, path) }
	})
}

// holdEnv names the file TestHelperHoldBoltLock locks when run as a
// child process.
const holdEnv = "KASSA_TEST_HOLD_BOLT"

// TestHelperHoldBoltLock is not a test: TestBoltLockedByAnotherProcess
// runs the test binary with it to hold the file lock in another process.
func TestHelperHoldBoltLock(t *testing.T) {
	path := os.Getenv(holdEnv)
	if path == "" {
		t.Skip("helper process for TestBoltLockedByAnotherProcess")
	}
	b, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	os.Stdout.WriteString("locked\n")
	io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin
}

// A second process on the same file gets a clear error after the lock
// timeout instead of hanging, and can open it once the first is gone.
func TestBoltLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kassa.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldBoltLock$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("helper process said %q, %v", line, err)
	}

	const timeout = 300 * time.Millisecond
	start := time.Now()
	b, err := store.OpenBolt(path, store.BoltOptions{Timeout: timeout})
	elapsed := time.Since(start)
	if err == nil {
		b.Close()
		t.Fatal("OpenBolt of a file locked by another process succeeded")
	}
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("OpenBolt error %q: want ErrUnavailable saying the file is locked", err)
	}
	// bbolt gives up one 50ms retry interval early.
	if elapsed < timeout/2 || elapsed > timeout+5*time.Second {
		t.Fatalf("OpenBolt failed after %s, want about %s", elapsed, timeout)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v", err)
	}
	openBolt(t, path)
}

// Handles on the same file in one process share it, as a Caddy reload
// needs: the new config opens the file before the old one closes it.
func TestBoltSharedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kassa.db")
	old := openBolt(t, path)
	start := time.Now()
	renewed := openBolt(t, path)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("second OpenBolt in the same process took %s", d)
	}
	put := func(s store.Store, key string) {
		t.Helper()
		if err := s.Update(t.Context(), func(tx store.Tx) error {
			return tx.Put("b", key, []byte(key), time.Time{})
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(old, "from-old")
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if err := old.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping on the closed handle: %v, want ErrUnavailable", err)
	}
	put(renewed, "from-new")
	if err := renewed.View(t.Context(), func(tx store.Tx) error {
		kvs, err := tx.List("b", "", "", 0)
		if len(kvs) != 2 {
			t.Errorf("List = %v, want both keys", kvs)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := renewed.Close(); err != nil {
		t.Fatal(err)
	}
	// The file is really closed now: another process could lock it, and
	// a new open works.
	openBolt(t, path)
}
