package kassa

// The providers, each a kassa.providers.<name> module.
import (
	_ "github.com/kassa-edge/kassa/plugin/adminapi"
	_ "github.com/kassa-edge/kassa/plugin/cli"
	_ "github.com/kassa-edge/kassa/plugin/payneteasy"
	_ "github.com/kassa-edge/kassa/plugin/smarts"
	_ "github.com/kassa-edge/kassa/plugin/voyado"
)
