package app

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/kassa-edge/kassa/plugin/store"
)

// stores shares open stores between configs: a reload provisions the new
// config while the old one still runs, and a bolt file can be opened only
// once per process.
var stores = caddy.NewUsagePool()

type pooled struct{ store.Store }

func (p pooled) Destruct() error { return p.Close() }

// DefaultBoltPath is where the bolt store lives unless configured.
func DefaultBoltPath() string { return filepath.Join(caddy.AppDataDir(), "kassa", "kassa.db") }

// openStore opens (or shares) the configured store and returns it with its
// pool key.
func openStore(ctx context.Context, cfg *StoreConfig) (store.Store, string, error) {
	if cfg == nil {
		cfg = &StoreConfig{}
	}
	switch cfg.Kind {
	case "postgres":
		dsn, err := Secret("store postgres", cfg.DSN)
		if err != nil {
			return nil, "", err
		}
		key := "postgres:" + dsn
		v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
			octx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			pg, err := store.OpenPostgres(octx, dsn, store.PostgresOptions{})
			if err != nil {
				return nil, fmt.Errorf("store postgres: %s", redactDSN(err.Error()))
			}
			return pooled{pg}, nil
		})
		if err != nil {
			return nil, "", err
		}
		return v.(pooled).Store, key, nil
	default:
		path := cfg.Path
		if path == "" {
			path = DefaultBoltPath()
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, "", fmt.Errorf("store bolt: %v", err)
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, "", fmt.Errorf("store bolt: %v", err)
		}
		key := "bolt:" + abs
		v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
			b, err := store.OpenBolt(abs, store.BoltOptions{})
			if err != nil {
				return nil, fmt.Errorf("store bolt: %v", err)
			}
			return pooled{b}, nil
		})
		if err != nil {
			return nil, "", err
		}
		return v.(pooled).Store, key, nil
	}
}

var (
	kvPassword  = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)
)

// redactDSN hides passwords in a DSN or in text that may contain one.
func redactDSN(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	s = kvPassword.ReplaceAllString(s, "${1}xxxxx")
	return urlPassword.ReplaceAllString(s, "${1}xxxxx@")
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
