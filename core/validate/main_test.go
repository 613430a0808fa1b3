package validate_test

import (
	"flag"
	"os"
	"testing"

	"github.com/kassa-edge/kassa/core/validate"
)

// TestMain runs every test twice: walking bodies by scanning (natively, in
// a browser) and through an index (under a WebAssembly host that indexes
// bodies as it checks them). Both walks must give the same answers.
// A fuzzing run compares the two on each input instead (FuzzValidate).
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); code == 0 && (f == nil || f.Value.String() == "") {
		validate.SetIndexNatively(true)
		code = m.Run()
	}
	os.Exit(code)
}
