package voyado

import (
	"os"
	"testing"

	"github.com/kassa-edge/kassa/plugin/store/pgtest"
)

// TestMain stops the PostgreSQL server the e2e suite started (through
// testenv.PostgresStore) once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}
