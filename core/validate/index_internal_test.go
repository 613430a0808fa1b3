package validate

import (
	"encoding/json"
	"testing"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/spec"
)

// TestBrokenIndex: a host whose index is inconsistent (an offset outside
// the body, a Next that goes backwards, nowhere or past the end) must not
// make the core panic, loop or answer differently: it walks by scanning
// instead. (An index that is consistent but wrong, say a Next that skips a
// sibling, gives wrong answers, as a wrong verdict would: the core trusts
// its host's check.)
func TestBrokenIndex(t *testing.T) {
	defer func() { jsonscan.HostCheck = nil }()
	for _, id := range []string{"payneteasy.check-sale", "smarts.invoice", "voyado.secure-payment"} {
		body := []byte(spec.Lookup(id).Example)
		if len(body) == 0 {
			t.Fatalf("%s: no example", id)
		}
		jsonscan.HostCheck = nil
		want, err := Validate(id, body) // by scanning
		if err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		var good [256]jsonscan.Entry
		n := jsonscan.Index(string(body), good[:])
		if n < 4 {
			t.Fatalf("%s: %d entries", id, n)
		}
		breaks := map[string]func(tp []jsonscan.Entry){
			"next backwards":    func(tp []jsonscan.Entry) { tp[2].Next = 1 },
			"next to itself":    func(tp []jsonscan.Entry) { tp[n-1].Next = uint32(n - 1) },
			"next past the end": func(tp []jsonscan.Entry) { tp[1].Next = uint32(n + 5) },
			"value outside":     func(tp []jsonscan.Entry) { tp[n-1].Val, tp[n-1].End = 1<<30, 1<<30+2 },
			"end before value":  func(tp []jsonscan.Entry) { tp[n-1].End = tp[n-1].Val - 1 },
			"key outside":       func(tp []jsonscan.Entry) { tp[1].Key, tp[1].Flags = 1<<30, jsonscan.KeyEscaped },
			"wrong count":       func(tp []jsonscan.Entry) { tp[0].Next = uint32(n + 1) },
		}
		for name, brk := range breaks {
			jsonscan.HostCheck = func(b []byte, _ int, tape []jsonscan.Entry) (bool, bool, int) {
				if len(tape) < n { // the first call: the core gives a buffer once a host answers
					return true, true, 0
				}
				copy(tape, good[:n])
				brk(tape)
				return true, true, n
			}
			var v Validator
			for range 3 { // the first call without an index (see above); the Validator stays usable
				got, err := v.Validate(id, body)
				if len(got.Violations) == 0 {
					got.Violations = nil // as the pooled Validate returns it
				}
				gotJSON, _ := json.Marshal(got)
				if err != nil || string(gotJSON) != string(wantJSON) {
					t.Fatalf("%s, %s: %s %v, want %s", id, name, gotJSON, err, wantJSON)
				}
			}
			// The same index given by a caller that checked the body.
			jsonscan.HostCheck = nil
			tape := make([]jsonscan.Entry, n)
			copy(tape, good[:n])
			brk(tape)
			got, err := v.ValidateIndexed(id, body, tape)
			if len(got.Violations) == 0 {
				got.Violations = nil
			}
			if gotJSON, _ := json.Marshal(got); err != nil || string(gotJSON) != string(wantJSON) {
				t.Fatalf("%s, %s, ValidateIndexed: %s %v, want %s", id, name, gotJSON, err, wantJSON)
			}
			if len(v.slots) != 0 || v.tp != nil {
				t.Fatalf("%s, %s: %d slots left, index kept", id, name, len(v.slots))
			}
		}
	}
}
