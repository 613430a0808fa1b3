package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kassa-edge/kassa/plugin/store/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Each Start gets its own database: a table made in one is absent in the
// other.
func TestStartIsolatesDatabases(t *testing.T) {
	a, b := pgtest.Start(t), pgtest.Start(t)
	if a == b {
		t.Fatalf("two Start calls returned the same DSN %q", a)
	}
	ctx := context.Background()
	if _, err := connect(t, a).Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var exists bool
	err := connect(t, b).QueryRow(ctx, "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("table created in database a is visible in database b")
	}
}

// StopServer makes the DSN unreachable; StartServer brings back the same
// data on the same DSN. Restart does both.
func TestStopStartKeepsData(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	pgtest.StopServer(t)
	if c, err := pgx.Connect(ctx, dsn); err == nil {
		c.Close(ctx)
		t.Fatal("connected while the server was stopped")
	}
	pgtest.StartServer(t)
	pgtest.Restart(t)

	var x int
	if err := connect(t, dsn).QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil {
		t.Fatal(err)
	}
	if x != 42 {
		t.Fatalf("x = %d after restart, want 42", x)
	}
}
