// Package wasm embeds kassa's core compiled to WebAssembly (kassa.wasm, a
// GOOS=wasip1 reactor built from ./guest by `make wasm`). The file is
// committed so that `go build` and `xcaddy build` embed it without make;
// a test checks that it matches a fresh build.
package wasm

import _ "embed"

// Module is the content of kassa.wasm.
//
//go:embed kassa.wasm
var Module []byte
