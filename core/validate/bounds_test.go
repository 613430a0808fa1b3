package validate

import (
	"math"
	"testing"

	"github.com/kassa-edge/kassa/core/spec"
)

func TestCmpIntFloat(t *testing.T) {
	for _, c := range []struct {
		n    int64
		b    float64
		want int
	}{
		{9007199254740993, 1 << 53, 1},
		{9007199254740992, 1 << 53, 0},
		{1, 1.5, -1},
		{2, 1.5, 1},
		{-2, -1.5, -1},
		{-1, -1.5, 1},
		{math.MaxInt64, 1 << 63, -1},
		{math.MinInt64, -(1 << 63), 0},
		{math.MinInt64, -1e19, 1},
		{0, 0, 0},
	} {
		if got := cmpIntFloat(c.n, c.b); got != c.want {
			t.Errorf("cmpIntFloat(%d, %g) = %d, want %d", c.n, c.b, got, c.want)
		}
	}
}

func TestOutsideNaNBound(t *testing.T) {
	f := &spec.Field{Kind: spec.Integer, Min: math.NaN(), HasMin: true, ExclMin: true, Max: math.NaN(), HasMax: true, ExclMax: true}
	for _, n := range []int64{math.MinInt64, -1, 0, 1, math.MaxInt64} {
		if outside(f, n) {
			t.Errorf("outside(NaN bounds, %d) = true, want false", n)
		}
	}
}
