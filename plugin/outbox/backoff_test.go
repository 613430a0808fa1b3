package outbox

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	w := &Worker{cfg: Config{BaseDelay: time.Second, MaxDelay: time.Minute}}
	for _, c := range []struct {
		attempts int
		max      time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{6, 32 * time.Second},
		{7, time.Minute}, // 64s capped
		{1000, time.Minute},
	} {
		lo, hi := c.max, time.Duration(0)
		for range 1000 {
			d := w.backoff(c.attempts)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < c.max/2 || hi > c.max {
			t.Errorf("backoff(%d) ranged %s..%s, want within [%s, %s]", c.attempts, lo, hi, c.max/2, c.max)
		}
		// Jitter: 1000 draws are not all the same.
		if lo == hi {
			t.Errorf("backoff(%d) is always %s: no jitter", c.attempts, lo)
		}
	}
}
