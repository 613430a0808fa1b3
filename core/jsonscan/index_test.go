package jsonscan

import (
	"testing"
	"unsafe"
)

// TestEntryLayout: the ABI of kassa_host.check_json (wasm/README.md) is
// Entry's memory layout under wasm: 40 bytes, fields in this order.
func TestEntryLayout(t *testing.T) {
	var e Entry
	got := []uintptr{unsafe.Offsetof(e.Word), unsafe.Offsetof(e.Tail), unsafe.Offsetof(e.Key), unsafe.Offsetof(e.KeyLen),
		unsafe.Offsetof(e.Val), unsafe.Offsetof(e.End), unsafe.Offsetof(e.Next), unsafe.Offsetof(e.Flags)}
	want := []uintptr{0, 8, 16, 20, 24, 28, 32, 36}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("field %d at offset %d, want %d", i, got[i], want[i])
		}
	}
	if unsafe.Sizeof(e) != EntrySize {
		t.Fatalf("Entry is %d bytes, want %d", unsafe.Sizeof(e), EntrySize)
	}
}

func TestIndex(t *testing.T) {
	b := ` {"a":"x","longer_key":[1,{"c\u0064":null}],"é":"\n"}`
	tape := make([]Entry, 16)
	n := Index(b, tape)
	want := []Entry{
		{Val: 1, End: uint32(len(b)), Next: 7},
		{Word: Word("a"), Key: 3, KeyLen: 1, Val: 6, End: 9, Next: 2},
		{Word: Word("longer_key"), Tail: Tail("longer_key"), Key: 11, KeyLen: 10, Val: 23, End: 43, Next: 6},
		{Val: 24, End: 25, Next: 4},
		{Val: 26, End: 42, Next: 6},
		{Key: 28, KeyLen: 7, Val: 37, End: 41, Next: 6, Flags: KeyEscaped},
		{Word: Word("é"), Key: 45, KeyLen: 2, Val: 49, End: 53, Next: 7, Flags: uint32(Escaped)},
	}
	if n != len(want) {
		t.Fatalf("%d entries, want %d: %+v", n, len(want), tape[:n])
	}
	for i := range want {
		if tape[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, tape[i], want[i])
		}
	}
	if Index(b, tape[:6]) != 0 || Index("", tape) != 0 {
		t.Error("an index that does not fit, or of nothing, must be empty")
	}
}

// TestChild reads members through an index: by key, escaped keys
// unescaped, nested, and -1 for what is not there or not an object.
func TestChild(t *testing.T) {
	b := `{"a":{"b":{"c":"x"}},"l":[1],"\u0065sc":2,"s":"str","n":null,"a2":{}}`
	tape := make([]Entry, 16)
	if Index(b, tape) == 0 {
		t.Fatal("did not index")
	}
	val := func(i int) string {
		if i < 0 {
			return "<none>"
		}
		return b[tape[i].Val:tape[i].End]
	}
	cases := []struct {
		i    int
		key  string
		want string
	}{
		{0, "a", `{"b":{"c":"x"}}`},
		{Child(b, tape, 0, "a"), "b", `{"c":"x"}`},
		{Child(b, tape, Child(b, tape, 0, "a"), "b"), "c", `"x"`},
		{0, "esc", "2"},           // an escaped key, compared unescaped
		{0, `\u0065sc`, "<none>"}, // not its raw form
		{0, "a2", "{}"},
		{0, "missing", "<none>"},
		{Child(b, tape, 0, "l"), "0", "<none>"}, // an array has no members
		{Child(b, tape, 0, "s"), "x", "<none>"}, // nor a string
		{Child(b, tape, 0, "n"), "x", "<none>"}, // nor null
		{Child(b, tape, 0, "a2"), "x", "<none>"},
		{-1, "a", "<none>"},
	}
	for _, c := range cases {
		if got := val(Child(b, tape, c.i, c.key)); got != c.want {
			t.Errorf("Child(entry %d, %q) = %s, want %s", c.i, c.key, got, c.want)
		}
	}
	if k := KeyOf(b, &tape[Child(b, tape, 0, "esc")]); k != "esc" {
		t.Errorf("KeyOf an escaped key: %q", k)
	}
}

// TestEqual compares Equal with == on every length up to 40 and a
// difference at every position.
func TestEqual(t *testing.T) {
	const text = "0123456789abcdefghijklmnopqrstuvwxyzABCD"
	for n := 0; n <= len(text); n++ {
		a := text[:n]
		if !Equal(a, string([]byte(a))) {
			t.Fatalf("Equal(%q, itself) = false", a)
		}
		for i := 0; i < n; i++ {
			b := []byte(a)
			b[i] ^= 1
			if Equal(a, string(b)) {
				t.Fatalf("Equal(%q, %q) = true", a, b)
			}
		}
		if n > 0 && Equal(a, a[:n-1]) {
			t.Fatalf("Equal(%q, %q) = true", a, a[:n-1])
		}
	}
}
