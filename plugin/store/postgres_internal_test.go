package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// wrap classifies errors and removes the password from any text it
// returns, whatever error pgx produced.
func TestPostgresWrap(t *testing.T) {
	p := &Postgres{password: "hunter2"}
	for _, c := range []struct {
		err         error
		unavailable bool
	}{
		{errors.New("dial tcp: connection refused"), true},
		{errors.New("connect as kassa:hunter2 failed"), true},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{&pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"}, true},
		{&pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}, true},
		{&pgconn.PgError{Code: "23505", Message: "duplicate key hunter2"}, false},
		{&pgconn.PgError{Code: "22021", Message: "invalid byte sequence"}, false},
	} {
		err := p.wrap("op", c.err)
		if got := errors.Is(err, ErrUnavailable); got != c.unavailable {
			t.Errorf("wrap(%v): unavailable = %v, want %v", c.err, got, c.unavailable)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("wrap(%v) = %q shows the password", c.err, err)
		}
		if !strings.Contains(err.Error(), "op") {
			t.Errorf("wrap(%v) = %q lacks the operation", c.err, err)
		}
	}
}
