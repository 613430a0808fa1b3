//go:build kassa_zeroguest

package engine

import (
	"context"
	"fmt"
	"os"
)

// This file is built only with the kassa_zeroguest tag, for one
// experiment of BENCHMARKS.md: the wasm engine with a guest that costs
// nothing. Its Check sale calls (ValidateIndexed over the handler's
// index, SignValues) are answered by the native core, after the same
// admission checks and holding an instance from the pool for the call
// without entering it: the pool works and grows as it does for real
// calls, and the process holds as many instances' memory on its heap, as
// the real engine's does. Everything else is unchanged. A load test of
// that build measures the most any guest could reach in the wasm engine's
// Caddy:
//
//	GOTAGS=kassa_zeroguest SITES="respond respond-native echo check-wasm check-native" bench/load.sh 5 9
//
// Never deploy it: it runs the native engine under the wasm engine's name.

const zeroGuestBuild = true

var zeroGuest = NewNative()

// A binary of this build says what it is, on every start.
func init() {
	fmt.Fprintln(os.Stderr, "kassa: built with -tags kassa_zeroguest: the wasm engine's Check sale runs on the native core (an experiment, BENCHMARKS.md; never deploy this binary)")
}

// zeroGuestDo runs f, the native core's answer, while holding an instance.
func zeroGuestDo[T any](w *Wasm, ctx context.Context, f func() (T, error)) (T, error) {
	in, err := w.take(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer w.put(in)
	return f()
}
