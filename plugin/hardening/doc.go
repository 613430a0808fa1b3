// Package hardening holds kassa's reliability tests only: hostile input,
// fault injection (SIGKILL mid-write, PostgreSQL restarts, slow or failing
// backends and gateways, a full disk), load (soak, outbox backlog) and
// secret-leak checks, all against the real bin/caddy on loopback with every
// provider configured. There is no non-test code here.
//
// The default run (`go test ./plugin/hardening/`) takes about a minute and
// a half; the long variants need KASSA_LONG=1 (and KASSA_SOAK=10m for a
// ten-minute soak). RELIABILITY.md at the repository root lists what each
// test proves, the figures measured and how to run them.
package hardening
