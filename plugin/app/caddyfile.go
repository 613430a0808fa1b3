package app

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the app from the `kassa` global option (the
// syntax is in the package documentation).
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		sub := d.Val()
		switch sub {
		case "engine":
			if !d.NextArg() {
				return d.Errf("engine: want wasm or native")
			}
			a.EngineName = d.Val()
			if a.EngineName != "wasm" && a.EngineName != "native" {
				return d.Errf("engine: unknown engine %q (want wasm or native)", a.EngineName)
			}
		case "core":
			if !d.NextArg() {
				return d.Errf("core: want the path of a .wasm file")
			}
			a.Core = d.Val()
		case "store":
			if !d.NextArg() {
				return d.Errf("store: want bolt [<file>] or postgres <dsn>")
			}
			switch kind := d.Val(); kind {
			case "bolt":
				a.StoreConfig = &StoreConfig{Kind: "bolt"}
				if d.NextArg() {
					a.StoreConfig.Path = d.Val()
				}
			case "postgres":
				if !d.NextArg() {
					return d.Errf("store postgres: missing DSN (e.g. {env.KASSA_PG_DSN})")
				}
				a.StoreConfig = &StoreConfig{Kind: "postgres", DSN: d.Val()}
			default:
				return d.Errf("store: unknown store %q (want bolt or postgres)", kind)
			}
		case "instances":
			if !d.NextArg() {
				return d.Errf("instances: want a number")
			}
			n, err := strconv.Atoi(d.Val())
			if err != nil || n < 1 {
				return d.Errf("instances: %q is not a positive number", d.Val())
			}
			a.Instances = n
		case "max_body":
			if !d.NextArg() {
				return d.Errf("max_body: want a size such as 1MiB")
			}
			n, err := ParseSize(d.Val())
			if err != nil || n < 1024 {
				return d.Errf("max_body: %q is not a size of at least 1KiB", d.Val())
			}
			a.MaxBody = n
		case "outbox":
			if d.NextArg() {
				return d.ArgErr()
			}
			if a.Outbox == nil {
				a.Outbox = new(OutboxConfig)
			}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				opt := d.Val()
				if !d.NextArg() {
					return d.Errf("outbox %s: want a duration", opt)
				}
				dur, err := caddy.ParseDuration(d.Val())
				if err != nil || dur <= 0 {
					return d.Errf("outbox %s: %q is not a positive duration", opt, d.Val())
				}
				switch opt {
				case "base_delay":
					a.Outbox.BaseDelay = caddy.Duration(dur)
				case "max_delay":
					a.Outbox.MaxDelay = caddy.Duration(dur)
				case "max_age":
					a.Outbox.MaxAge = caddy.Duration(dur)
				case "timeout":
					a.Outbox.Timeout = caddy.Duration(dur)
				default:
					return d.Errf("outbox: unknown option %q", opt)
				}
			}
		default:
			return d.Errf("kassa: unknown global subdirective %q", sub)
		}
		if d.NextArg() {
			return d.Errf("%s: too many arguments", sub)
		}
	}
	return nil
}

var _ caddyfile.Unmarshaler = (*App)(nil)
