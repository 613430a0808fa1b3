//go:build !kassa_zeroguest

package engine

// zeroGuestBuild is true only in the kassa_zeroguest experiment build
// (zeroguest.go); in every other build the branches it guards compile away.
const zeroGuestBuild = false

var zeroGuest Engine
