package validate

import (
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/spec"
)

// typeOK accepts exactly the numbers and booleans that value would pass
// for a field with no rule but its type.
func TestTypeOK(t *testing.T) {
	long := strings.Repeat("9", 299)
	for _, c := range []struct {
		kind spec.Kind
		raw  string
		want bool
	}{
		{spec.Number, "0", true},
		{spec.Number, "-1.5", true},
		{spec.Number, long, true},
		{spec.Number, long + "9", false}, // 300 characters: parsed (this one is finite)
		{spec.Number, "1e999", false},    // parsed: infinite
		{spec.Number, "1E5", false},
		{spec.Number, `"1"`, false},
		{spec.Number, "null", false},
		{spec.Number, "true", false},
		{spec.Boolean, "true", true},
		{spec.Boolean, "false", true},
		{spec.Boolean, "null", false},
		{spec.Boolean, "0", false},
		{spec.String, `"a"`, false},
	} {
		if got := typeOK(c.kind, c.raw); got != c.want {
			t.Errorf("typeOK(%v, %.20s) = %v", c.kind, c.raw, got)
		}
	}
}
