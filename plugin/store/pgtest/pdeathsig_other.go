//go:build !linux

package pgtest

import "os/exec"

// setPdeathsig does nothing: only Linux has a parent-death signal, so
// elsewhere a crashed test run may leave its server running.
func setPdeathsig(*exec.Cmd) {}
