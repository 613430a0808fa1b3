//go:build !kassa_zeroguest

package engine

import "context"

// zeroGuestBuild is true only in the kassa_zeroguest experiment build
// (zeroguest.go); in every other build the branches it guards compile away.
const zeroGuestBuild = false

var zeroGuest Engine

func zeroGuestDo[T any](*Wasm, context.Context, func() (T, error)) (T, error) {
	panic("engine: zeroGuestDo outside the kassa_zeroguest build")
}
