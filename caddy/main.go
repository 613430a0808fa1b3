// Command caddy is Caddy with its standard modules and kassa: the binary
// `xcaddy build --with github.com/kassa-edge/kassa/plugin` would produce.
// `make build` writes it to bin/caddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/kassa-edge/kassa/plugin"
)

func main() {
	caddycmd.Main()
}
