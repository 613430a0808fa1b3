package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

func openPostgres(t *testing.T, dsn string) *store.Postgres {
	t.Helper()
	p, err := store.OpenPostgres(t.Context(), dsn, store.PostgresOptions{MaxConns: 8})
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		dsn := pgtest.Start(t)
		return openPostgres(t, dsn), func(t *testing.T) store.Store { return openPostgres(t, dsn) }
	})
}

// Two instances on one database (two Caddy servers) never claim the same
// delivery.
func TestPostgresInstancesClaimDisjoint(t *testing.T) {
	dsn := pgtest.Start(t)
	instances := []*store.Postgres{openPostgres(t, dsn), openPostgres(t, dsn)}
	const n = 500
	err := instances[0].Update(t.Context(), func(tx store.Tx) error {
		for i := range n {
			if _, err := tx.Enqueue(&store.Delivery{ID: fmt.Sprintf("d%03d", i), Target: "events"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = make(map[string]int)
		per  = make([]int, len(instances))
		wg   sync.WaitGroup
	)
	for w := range 8 {
		i := w % len(instances)
		wg.Go(func() {
			for {
				ds, err := instances[i].Claim(t.Context(), time.Now(), 5, time.Hour)
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				per[i] += len(ds)
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
	if len(seen) != n {
		t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), n)
	}
	t.Logf("claims per instance: %v", per)
}

// Instances starting together apply the schema once.
func TestPostgresConcurrentMigration(t *testing.T) {
	dsn := pgtest.Start(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			p, err := store.OpenPostgres(t.Context(), dsn, store.PostgresOptions{})
			if err != nil {
				t.Errorf("OpenPostgres: %v", err)
				return
			}
			p.Close()
		})
	}
	wg.Wait()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, version int
	if err := conn.QueryRow(t.Context(), "SELECT count(*), max(version) FROM kassa_schema_version").Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != 1 {
		t.Fatalf("kassa_schema_version has %d rows, max %d; want 1 row, version 1", rows, version)
	}
	// A newer schema than this code knows is refused, not used.
	if _, err := conn.Exec(t.Context(), "INSERT INTO kassa_schema_version (version) VALUES (99)"); err != nil {
		t.Fatal(err)
	}
	if p, err := store.OpenPostgres(t.Context(), dsn, store.PostgresOptions{}); err == nil {
		p.Close()
		t.Fatal("OpenPostgres accepted schema version 99")
	}
}

// search_path in the DSN puts kassa's tables in another schema.
func TestPostgresSearchPath(t *testing.T) {
	dsn := pgtest.Start(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "CREATE SCHEMA shop"); err != nil {
		t.Fatal(err)
	}
	p := openPostgres(t, dsn+"&search_path=shop")
	if err := p.Update(t.Context(), func(tx store.Tx) error { return tx.Put("b", "k", []byte("v"), time.Time{}) }); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM shop.kassa_kv").Scan(&n); err != nil || n != 1 {
		t.Fatalf("shop.kassa_kv has %d rows (%v), want 1", n, err)
	}
	var inPublic bool
	if err := conn.QueryRow(t.Context(), "SELECT to_regclass('public.kassa_kv') IS NOT NULL").Scan(&inPublic); err != nil {
		t.Fatal(err)
	}
	if inPublic {
		t.Fatal("kassa_kv was created in public too")
	}
}

// withPassword returns dsn with its password replaced.
func withPassword(t *testing.T, dsn, password string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

func TestPostgresErrorsHidePassword(t *testing.T) {
	dsn := pgtest.Start(t)
	const secret = "Sup3r-Secret-Pa55"
	for name, dsn := range map[string]string{
		"wrong password":  withPassword(t, dsn, secret),
		"unparseable DSN": "postgres://kassa:" + secret + "@127.0.0.1:notaport/db",
		"keyword DSN":     "host=127.0.0.1 port=notaport password=" + secret,
	} {
		_, err := store.OpenPostgres(t.Context(), dsn, store.PostgresOptions{})
		if err == nil {
			t.Errorf("%s: OpenPostgres succeeded", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}

	// Nothing listens on a port we just closed: unavailable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = store.OpenPostgres(t.Context(), "postgres://kassa:"+secret+"@"+addr+"/db?connect_timeout=2", store.PostgresOptions{})
	if !errors.Is(err, store.ErrUnavailable) || strings.Contains(err.Error(), secret) {
		t.Fatalf("OpenPostgres with no server: %v; want ErrUnavailable without the password", err)
	}
}

// While the server is down, operations fail with ErrUnavailable (and
// never show the password); once it is back, the same store works again.
// Not parallel: it stops the shared server.
func TestPostgresServerDown(t *testing.T) {
	dsn := pgtest.Start(t)
	p := openPostgres(t, dsn)
	ctx := t.Context()
	put := func() error {
		return p.Update(ctx, func(tx store.Tx) error { return tx.Put("b", "k", []byte("v"), time.Time{}) })
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	password, _ := mustURL(t, dsn).User.Password()

	pgtest.StopServer(t)
	for name, fn := range map[string]func() error{
		"Ping":   func() error { return p.Ping(ctx) },
		"Update": put,
		"Claim": func() error {
			_, err := p.Claim(ctx, time.Now(), 1, time.Minute)
			return err
		},
	} {
		err := fn()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with the server down: %v, want ErrUnavailable", name, err)
		}
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("%s error shows the password: %v", name, err)
		}
	}
	pgtest.StartServer(t)

	// The pool drops dead connections and reconnects.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := p.Ping(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping after the server came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := put(); err != nil {
		t.Fatalf("Update after the server came back: %v", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
