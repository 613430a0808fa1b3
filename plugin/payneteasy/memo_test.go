package payneteasy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/plugin/app"
	"github.com/kassa-edge/kassa/plugin/store"
)

func TestSessionMemo(t *testing.T) {
	m := newSessionMemo()
	now := time.Now().UTC().Truncate(time.Microsecond)
	in := &session{Flow: "sale", InvoiceID: "inv-1", Serial: "SN", Nonce: "n", State: stateInitiated, Created: now, Expires: now.Add(time.Hour)}
	raw := in.marshal()
	a, err := m.load("sale/inv-1", raw)
	if err != nil || *a != *in {
		t.Fatalf("first load: %+v, %v", a, err)
	}
	// The same record again: the memo's session, not decoded again.
	b, err := m.load("sale/inv-1", raw)
	if err != nil || b != a || *b != *in {
		t.Fatalf("second load: %+v (shared %v), %v", b, b == a, err)
	}
	// A changed record is decoded again, never answered from the memo.
	in.State = "APPROVED"
	c, err := m.load("sale/inv-1", in.marshal())
	if err != nil || c.State != "APPROVED" {
		t.Fatalf("changed record: %+v, %v", c, err)
	}
	// Every key shares the slots: two keys in one slot each get their own
	// record's session (the record decides, not the key).
	for i := range 3 * memoSlots {
		s := &session{InvoiceID: "inv-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)), Expires: now}
		got, err := m.load("sale/"+s.InvoiceID, s.marshal())
		if err != nil || got.InvoiceID != s.InvoiceID {
			t.Fatalf("load %d: %+v, %v", i, got, err)
		}
	}
	if _, err := m.load("sale/x", []byte(`{"flow":`)); err == nil {
		t.Fatal("corrupt record accepted")
	}
}

func TestConstantTimeCompares(t *testing.T) {
	for _, c := range []struct {
		a, b       string
		eq, eqFold bool
	}{
		{"", "", true, true},
		{"abc", "abc", true, true},
		{"abc", "abd", false, false},
		{"abc", "ab", false, false},
		{"DEADbeef09", "deadBEEF09", false, true},
		{"@[`{", "@[`{", true, true},
		{"@", "`", false, false}, // 0x40 and 0x60 differ only in 0x20: not letters
		{"[", "{", false, false},
		{"Z", "z", false, true},
		{"A", "a", false, true},
		{"é", "É", false, false}, // ASCII only: hex signatures have no other letters
	} {
		if got := eq(c.a, c.b); got != c.eq {
			t.Errorf("eq(%q, %q) = %v", c.a, c.b, got)
		}
		if got := eqFold(c.a, c.b); got != c.eqFold {
			t.Errorf("eqFold(%q, %q) = %v", c.a, c.b, got)
		}
	}
	for c := 0; c < 256; c++ {
		want := byte(c)
		if c >= 'A' && c <= 'Z' {
			want += 'a' - 'A'
		}
		if got := lowerASCII(byte(c)); got != want {
			t.Errorf("lowerASCII(%#x) = %#x, want %#x", c, got, want)
		}
	}
	d := digest("token")
	if !eqDigest(d, "token") || eqDigest(d, "tokem") || eqDigest(d[:63], "token") || eqDigest(strings.ToUpper(d), "token") {
		t.Error("eqDigest disagrees with digest")
	}
}

// countingStore counts write transactions.
type countingStore struct {
	store.Store
	updates int
}

func (c *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	c.updates++
	return c.Store.Update(ctx, fn)
}

// A status poll that repeats the stored state writes nothing (a write
// transaction syncs the file); a new state is written once.
// The memo's sessions are shared: the two writers of a session that read
// it through the memo (a first check, a status change) change copies.
func TestWritersLeaveMemoAlone(t *testing.T) {
	bolt, err := store.OpenBolt(filepath.Join(t.TempDir(), "kassa.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	p := &Payneteasy{app: &app.App{}, st: bolt, logger: zap.NewNop(), memo: newSessionMemo()}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	key := sessionKey("sale", "inv-1")
	orig := session{Flow: "sale", InvoiceID: "inv-1", Serial: "SN", TokenDigest: digest("at"), Nonce: "n", Signature: "sig",
		State: stateInitiated, Created: now, Expires: now.Add(time.Hour)}
	raw := orig.marshal()
	if err := bolt.Update(ctx, func(tx store.Tx) error {
		return tx.Put(store.BucketSessions, key, raw, time.Time{})
	}); err != nil {
		t.Fatal(err)
	}
	memoHolds := func(what string) {
		t.Helper()
		if s, err := p.memo.load(key, raw); err != nil || *s != orig {
			t.Fatalf("after %s, the memo's session for the first record: %+v, %v", what, s, err)
		}
	}
	c := &checkRequest{p: p, key: key, serial: "SN", accessToken: "at", nonce: "n", signature: "sig", token: "tok"}
	if err := bolt.View(ctx, c.examine); err != nil || !c.write {
		t.Fatalf("examine: %v, write %v", err, c.write)
	}
	if err := bolt.Update(ctx, c.update); err != nil {
		t.Fatal(err)
	}
	memoHolds("a first check")
	p.recordStatus(ctx, "sale", "inv-1", []byte(`{"state":"APPROVED","bankOrderId":"b-1"}`))
	// recordStatus read the checked record through the memo: its session
	// for that record must still be the checked one.
	checked := orig
	checked.Token, checked.State = "tok", stateChecked
	if s, err := p.memo.load(key, checked.marshal()); err != nil || *s != checked {
		t.Fatalf("after a status change, the memo's session for the checked record: %+v, %v", s, err)
	}
}

func TestRecordStatusWritesOnlyChanges(t *testing.T) {
	bolt, err := store.OpenBolt(filepath.Join(t.TempDir(), "kassa.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	st := &countingStore{Store: bolt}
	p := &Payneteasy{app: &app.App{}, st: st, logger: zap.NewNop(), memo: newSessionMemo()}
	ctx := context.Background()
	now := time.Now().UTC()
	s := &session{Flow: "sale", InvoiceID: "inv-1", State: stateChecked, Created: now, Expires: now.Add(time.Hour)}
	if err := bolt.Update(ctx, func(tx store.Tx) error {
		return tx.Put(store.BucketSessions, sessionKey("sale", "inv-1"), s.marshal(), time.Time{})
	}); err != nil {
		t.Fatal(err)
	}
	stored := func() *session {
		t.Helper()
		var got *session
		if err := bolt.View(ctx, func(tx store.Tx) error {
			raw, err := tx.Get(store.BucketSessions, sessionKey("sale", "inv-1"))
			if err == nil {
				got, err = loadSession(raw)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for i, step := range []struct {
		answer  string
		updates int
		state   string
	}{
		{`{"state":"PROCESSING"}`, 1, "PROCESSING"},
		{`{"state":"PROCESSING"}`, 1, "PROCESSING"},
		{`{"state":"PROCESSING"}`, 1, "PROCESSING"},
		{`{"state":"APPROVED","bankOrderId":"b-1"}`, 2, "APPROVED"},
		{`{"state":"APPROVED","bankOrderId":"b-1"}`, 2, "APPROVED"},
	} {
		p.recordStatus(ctx, "sale", "inv-1", []byte(step.answer))
		if got := stored(); st.updates != step.updates || got.State != step.state {
			t.Fatalf("step %d: %d write transactions, state %q; want %d, %q", i, st.updates, got.State, step.updates, step.state)
		}
	}
	if got := stored(); got.BankOrderID != "b-1" {
		t.Fatalf("bankOrderId %q", got.BankOrderID)
	}
	// A final state from the classic callback is not overridden.
	s = stored()
	s.State, s.Final = "DECLINED", true
	if err := bolt.Update(ctx, func(tx store.Tx) error {
		return tx.Put(store.BucketSessions, sessionKey("sale", "inv-1"), s.marshal(), time.Time{})
	}); err != nil {
		t.Fatal(err)
	}
	p.recordStatus(ctx, "sale", "inv-1", []byte(`{"state":"APPROVED"}`))
	p.recordStatus(ctx, "sale", "unknown", []byte(`{"state":"APPROVED"}`))
	if got := stored(); st.updates != 2 || got.State != "DECLINED" {
		t.Fatalf("after a final state: %d write transactions, state %q", st.updates, got.State)
	}
}

// splitPath agrees with strings.Split up to seven segments and gives no
// segments past them (a route needs at most six).
func TestSplitPath(t *testing.T) {
	for _, path := range []string{"", "a", "a/b", "sale/inv/check", "dapi/v1/sale/1/2/status", "a/b/c/d/e/f/g", "//", "a//b", "a/b/c/d/e/f/g/h", "dapi/v1/sale/1/2/status/x/y/z/w"} {
		var segs [7]string
		got := segs[:splitPath(path, &segs)]
		want := strings.Split(path, "/")
		if len(want) > len(segs) {
			want = nil
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitPath(%q) = %q, want %q", path, got, want)
		}
	}
}
