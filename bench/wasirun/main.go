// Command wasirun runs a WASI command module (GOOS=wasip1) under wazero
// with real clocks, its output on stdout: the host for bench/guest.
package main

import (
	"context"
	"os"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

func main() {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	if len(os.Args) != 2 {
		println("usage: wasirun <module.wasm>")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		println(err.Error())
		os.Exit(1)
	}
	_, err = r.InstantiateWithConfig(ctx, b, wazero.NewModuleConfig().WithStdout(os.Stdout).WithStderr(os.Stderr).WithSysNanotime().WithSysWalltime())
	if err != nil {
		println(err.Error())
		os.Exit(1)
	}
}
