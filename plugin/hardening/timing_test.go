package hardening_test

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

// timingSamples sends forged requests, wrong in the first character or in
// the last, interleaved (so drift hits both alike), n of each, on one
// keep-alive connection, and returns the latencies.
func timingSamples(t *testing.T, n *node, count int, first, last func() (method, path string, h http.Header, body []byte)) (a, b []time.Duration) {
	t.Helper()
	send := func(f func() (string, string, http.Header, []byte), want int) time.Duration {
		m, p, h, body := f()
		r := n.do(m, p, h, body)
		if r.Err != nil || r.Status != want {
			t.Fatalf("forged request: %v %d %s", r.Err, r.Status, r.Body)
		}
		return r.Dur
	}
	m, p, h, body := first()
	want := n.do(m, p, h, body).Status // warm up, and learn the refusal status
	for range 200 {
		send(first, want)
		send(last, want)
	}
	for i := range count {
		if i%2 == 0 {
			a = append(a, send(first, want))
			b = append(b, send(last, want))
		} else {
			b = append(b, send(last, want))
			a = append(a, send(first, want))
		}
	}
	return a, b
}

type timingStats struct{ mean, trimmed, median time.Duration }

func stats(ds []time.Duration) timingStats {
	s := sortDurations(ds)
	var sum, tsum float64
	lo, hi := len(s)/10, len(s)-len(s)/10
	for i, d := range s {
		sum += float64(d)
		if i >= lo && i < hi {
			tsum += float64(d)
		}
	}
	return timingStats{time.Duration(sum / float64(len(s))), time.Duration(tsum / float64(hi-lo)), s[len(s)/2]}
}

func flipFirst(s string) string { return flip(s[:1]) + s[1:] }
func flipLast(s string) string  { return s[:len(s)-1] + flip(s[len(s)-1:]) }
func flip(c string) string {
	if c == "0" {
		return "1"
	}
	if c == "A" || c == "a" {
		return "B"
	}
	return "0"
}

// TestForgedSignatureTiming measures whether a forged secret is refused
// faster when it is wrong early: the DAPI check signature, the classic
// callback control, the Smarts node token and the Voyado backend key, each
// wrong in its first character versus its last, 2,000 requests each
// (KASSA_TIMING_N overrides). The means, 10%-trimmed means and medians are
// logged; the test fails if the trimmed means differ by more than
// max(50µs, 10% of the median) — a generous bound: a byte-by-byte early
// exit over loopback is invisible at this scale anyway, so the test guards
// against gross regressions (a per-character delay, a lookup keyed by the
// signature), and the figures go to RELIABILITY.md. Not parallel, to keep
// the machine quiet.
func TestForgedSignatureTiming(t *testing.T) {
	count := 2000
	if v, err := strconv.Atoi(os.Getenv("KASSA_TIMING_N")); err == nil && v > 0 {
		count = v
	}
	n := start(t, config{}, newParties(t))
	a := newPneApp()
	s := n.mustInitiate(a, "inv-timing-"+randHex(4))
	tok := "tok-timing-0000000001"
	ctl := classicControl("approved", "t-1", s.Invoice)
	cases := []struct {
		name        string
		first, last func() (string, string, http.Header, []byte)
	}{
		{"DAPI check signature (40 hex)",
			func() (string, string, http.Header, []byte) {
				return "POST", "/pne/sale/" + s.Invoice + "/check", nil, a.checkBody(s.Nonce, flipFirst(s.Signature), tok)
			},
			func() (string, string, http.Header, []byte) {
				return "POST", "/pne/sale/" + s.Invoice + "/check", nil, a.checkBody(s.Nonce, flipLast(s.Signature), tok)
			}},
		{"classic callback control (40 hex)",
			func() (string, string, http.Header, []byte) {
				return "GET", "/pne/callback?status=approved&orderid=t-1&client_orderid=" + s.Invoice + "&control=" + flipFirst(ctl), nil, nil
			},
			func() (string, string, http.Header, []byte) {
				return "GET", "/pne/callback?status=approved&orderid=t-1&client_orderid=" + s.Invoice + "&control=" + flipLast(ctl), nil, nil
			}},
		{"Smarts node token",
			func() (string, string, http.Header, []byte) {
				return "GET", "/smarts/node/version", hdr("accessToken", flipFirst(nodeTokenA)), nil
			},
			func() (string, string, http.Header, []byte) {
				return "GET", "/smarts/node/version", hdr("accessToken", flipLast(nodeTokenA)), nil
			}},
		{"Voyado backend key",
			func() (string, string, http.Header, []byte) {
				return "POST", v2Payment + "?" + v2Query, hdr("Api-Key", flipFirst(voyadoBackend)), paymentBody(1)
			},
			func() (string, string, http.Header, []byte) {
				return "POST", v2Payment + "?" + v2Query, hdr("Api-Key", flipLast(voyadoBackend)), paymentBody(1)
			}},
	}
	for _, c := range cases {
		first, last := timingSamples(t, n, count, c.first, c.last)
		sf, sl := stats(first), stats(last)
		d := sf.trimmed - sl.trimmed
		bound := max(50*time.Microsecond, sl.median/10)
		line := fmt.Sprintf("%-34s n=%d: wrong first char mean %s trimmed %s median %s; wrong last char mean %s trimmed %s median %s; trimmed difference %+.1fµs (bound %s)",
			c.name, count, sf.mean.Round(time.Microsecond), sf.trimmed.Round(time.Microsecond), sf.median.Round(time.Microsecond),
			sl.mean.Round(time.Microsecond), sl.trimmed.Round(time.Microsecond), sl.median.Round(time.Microsecond),
			float64(d)/1e3, bound.Round(time.Microsecond))
		t.Log(line)
		if time.Duration(math.Abs(float64(d))) > bound {
			t.Errorf("%s: forged values wrong in the first and in the last character are refused %s apart (bound %s)", c.name, d, bound)
		}
	}
}
