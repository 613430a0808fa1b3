package hardening_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
)

// trickle opens a connection, sends the headers of a POST with a
// 1,000-byte body, then one body byte per second until the server answers
// or closes. It returns how long the server held the connection after the
// headers (capped at limit: the client gives up then) and whether the
// server ended it.
func trickle(port int, path string, extra string, limit time.Duration) (held time.Duration, ended bool, err error) {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n%sContent-Length: 1000\r\n\r\n{", path, port, extra)
	if _, err := io.WriteString(c, head); err != nil {
		return 0, false, err
	}
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		c.SetReadDeadline(start.Add(limit))
		io.Copy(io.Discard, c) // an answer, or the server closing
		close(closed)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			return time.Since(start), time.Since(start) < limit, nil
		case <-tick.C:
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte(" ")) // one byte; errors show up as the reader ending
		}
	}
}

// TestSlowLoris: a client that sends its body at 1 byte/s. With
// `servers { timeouts { read_body 10s } }` (RELIABILITY.md recommends it)
// Caddy ends such a request 10s after it started, on every provider, while
// other clients are served normally and the goroutines return to their
// baseline; with Caddy's defaults (no read_body; read_idle_timeout 1m
// resets on every byte) the same client is still held after 13s.
func TestSlowLoris(t *testing.T) {
	t.Parallel()
	guarded := start(t, config{Global: "servers {\n\t\ttimeouts {\n\t\t\tread_body 10s\n\t\t}\n\t}"}, newParties(t))
	open := start(t, config{}, newParties(t))
	base := metric(guarded.metrics(), "go_goroutines")

	paths := []struct{ path, hdr string }{
		{"/pne/sale/initiate-sale", ""},
		{"/smarts/product/search/barcode", "accessToken: " + nodeTokenA + "\r\n"},
		{"/api/v2/notifications/payment?" + v2Query, "Api-Key: " + voyadoBackend + "\r\n"},
	}
	const conns = 60
	var wg sync.WaitGroup
	type result struct {
		held  time.Duration
		ended bool
		err   error
	}
	results := make(chan result, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := paths[i%len(paths)]
			h, e, err := trickle(guarded.in.Port, p.path, p.hdr, 20*time.Second)
			results <- result{h, e, err}
		}()
	}
	var openHeld time.Duration
	var openEnded bool
	var openErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		openHeld, openEnded, openErr = trickle(open.in.Port, paths[0].path, "", 13*time.Second)
	}()

	// Meanwhile, normal requests are served promptly.
	time.Sleep(3 * time.Second)
	mid := metric(guarded.metrics(), "go_goroutines")
	var worst time.Duration
	for range 30 {
		r := guarded.do("GET", "/smarts/node/version", hdr("accessToken", nodeTokenA), nil)
		if r.Err != nil || r.Status != 200 {
			t.Fatalf("a normal request during the slow-loris: %v %d", r.Err, r.Status)
		}
		worst = max(worst, r.Dur)
	}
	wg.Wait()
	close(results)
	var longest time.Duration
	for r := range results {
		if r.err != nil {
			t.Fatalf("slow client: %v", r.err)
		}
		if !r.ended {
			t.Errorf("with read_body 10s a 1 byte/s client was held %s without being cut", r.held)
		}
		longest = max(longest, r.held)
	}
	if longest > 12*time.Second {
		t.Errorf("with read_body 10s a 1 byte/s client was held %s (want about 10s)", longest)
	}
	if openErr != nil {
		t.Fatal(openErr)
	}
	if openEnded {
		t.Logf("note: with Caddy's defaults the slow client was cut after %s", openHeld)
	}
	// The server's goroutines go back to their baseline.
	var after float64
	testenv.WaitFor(t, 10*time.Second, "goroutines back to the baseline", func() bool {
		after = metric(guarded.metrics(), "go_goroutines")
		return after <= base+10
	})
	t.Logf("read_body 10s: %d slow clients, each cut after at most %s; normal requests meanwhile: worst %s; goroutines %v -> %v -> %v",
		conns, longest.Round(100*time.Millisecond), worst.Round(time.Microsecond), base, mid, after)
	t.Logf("Caddy defaults: the slow client was still held after %s (ended: %v)", openHeld.Round(100*time.Millisecond), openEnded)
	if !openEnded && openHeld < 13*time.Second {
		t.Errorf("default config: held only %s", openHeld)
	}
	guarded.mustBeAlive("the slow-loris")
	open.mustBeAlive("the slow-loris")
}
