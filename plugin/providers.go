package kassa

// The providers, each a kassa.providers.<name> module.
import (
	_ "github.com/kassa-edge/kassa/plugin/payneteasy"
)
