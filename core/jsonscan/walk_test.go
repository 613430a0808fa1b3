package jsonscan

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// walkDump renders a checked body through First/Member/Next/Skip, and
// gjsonDump the same through gjson's ForEach: the two must agree on every
// key, every value's bytes and the order.
func walkDump(t *testing.T, b string, i int, out *strings.Builder) int {
	switch b[i] {
	case '{', '[':
		obj := b[i] == '{'
		out.WriteByte(b[i])
		end := i + 1
		for j := First(b, i); j >= 0; j = Next(b, end) {
			val := j
			if obj {
				var key string
				var w uint64
				var esc bool
				key, w, esc, val = Member(b, j)
				if esc {
					key = string(Unescape(nil, []byte(key)))
				} else if w != Word(key) {
					t.Fatalf("%q: Member at %d: word %#x, want Word(%q) = %#x", b, j, w, key, Word(key))
				}
				out.WriteString(key + "=")
			}
			end = walkDump(t, b, val, out)
			if skip := Skip(b, val); skip != end {
				t.Fatalf("%q: Skip at %d = %d, the walk ended at %d", b, val, skip, end)
			}
			out.WriteByte(';')
		}
		end = Close(b, end)
		out.WriteByte(b[end-1])
		return end
	}
	end := Skip(b, i)
	out.WriteString(b[i:end])
	end2, p := SkipValue(b, i)
	var want Plain
	if b[i] == '"' {
		if strings.IndexByte(b[i:end], '\\') >= 0 {
			want |= Escaped
		}
		for j := i; j < end; j++ {
			if b[j] >= 0x80 {
				want |= NonASCII
			}
		}
	}
	if b[i] == '"' {
		if end3, p3 := SkipString(b, i); end3 != end2 || p3 != p {
			t.Fatalf("%q: SkipString at %d = %d, %b; SkipValue %d, %b", b, i, end3, p3, end2, p)
		}
	}
	if end2 != end || p != want {
		t.Fatalf("%q: SkipValue at %d = %d, %b; want %d, %b", b, i, end2, p, end, want)
	}
	return end
}

func gjsonDump(r gjson.Result, out *strings.Builder) {
	if !r.IsObject() && !r.IsArray() {
		out.WriteString(r.Raw)
		return
	}
	obj := r.IsObject()
	out.WriteByte(r.Raw[0])
	r.ForEach(func(k, v gjson.Result) bool {
		if obj {
			out.WriteString(k.Str + "=")
		}
		gjsonDump(v, out)
		out.WriteByte(';')
		return true
	})
	if obj {
		out.WriteByte('}')
	} else {
		out.WriteByte(']')
	}
}

// checkWalk walks b (which Check accepted) and compares with gjson.
func checkWalk(t *testing.T, b string) {
	t.Helper()
	var got, want strings.Builder
	root := len(b) - len(strings.TrimLeft(b, " \t\r\n"))
	end := walkDump(t, b, root, &got)
	if rest := strings.TrimLeft(b[end:], " \t\r\n"); rest != "" {
		t.Fatalf("%q: the walk stopped at %d, before %q", b, end, rest)
	}
	gjsonDump(gjson.Parse(b), &want)
	if got.String() != want.String() {
		t.Fatalf("%q:\nwalk  %s\ngjson %s", b, got.String(), want.String())
	}
	// Check, given a tape, indexes the body as it checks it: the index
	// says the same as the walk (indexDump checks every entry against the
	// walk functions), and there is none when it does not fit.
	sc := Scanner{Tape: make([]Entry, len(b)+1)}
	if err := sc.Check([]byte(b)); err != nil || sc.Indexed == 0 {
		t.Fatalf("%q: Check with a tape: %v, %d entries", b, err, sc.Indexed)
	}
	n := sc.Indexed
	var idx strings.Builder
	if i := indexDump(t, b, sc.Tape[:n], 0, &idx); i != n || idx.String() != want.String() {
		t.Fatalf("%q: %d entries, dump ended at %d:\nindex %s\ngjson %s", b, n, i, idx.String(), want.String())
	}
	if m := Index(b, make([]Entry, n)); m != n {
		t.Fatalf("%q: Index: %d entries, Check: %d", b, m, n)
	}
	if m := Index(b, make([]Entry, n-1)); m != 0 {
		t.Fatalf("%q: %d entries in a tape of %d", b, m, n-1)
	}
	sc.Tape = sc.Tape[:n-1]
	if err := sc.Check([]byte(b)); err != nil || sc.Indexed != 0 {
		t.Fatalf("%q: Check with a short tape: %v, %d entries", b, err, sc.Indexed)
	}
}

// indexDump renders the value of entry t as walkDump does, checking each
// entry against the walk functions, and returns the entry after it.
func indexDump(t *testing.T, b string, tape []Entry, i int, out *strings.Builder) int {
	e := &tape[i]
	end, p := SkipValue(b, int(e.Val))
	if int(e.End) != end || (b[e.Val] == '"' && Plain(e.Flags&0xff) != p) || int(e.Next) <= i || int(e.Next) > len(tape) {
		t.Fatalf("%q: entry %d %+v; the value ends at %d, %b", b, i, *e, end, p)
	}
	c := b[e.Val]
	if c != '{' && c != '[' {
		out.WriteString(b[e.Val:e.End])
		return i + 1
	}
	out.WriteByte(c)
	j := i + 1
	for j < int(e.Next) {
		m := &tape[j]
		if c == '{' {
			key := b[m.Key : m.Key+m.KeyLen]
			if m.Flags&KeyEscaped != 0 {
				key = string(Unescape(nil, []byte(key)))
			} else if m.Word != Word(key) || (len(key) > 8 && m.Tail != Tail(key)) || (len(key) <= 8 && m.Tail != 0) {
				t.Fatalf("%q: entry %d: word %#x tail %#x for key %q", b, j, m.Word, m.Tail, key)
			}
			out.WriteString(key + "=")
		} else if m.Key != 0 || m.KeyLen != 0 {
			t.Fatalf("%q: element entry %d has a key", b, j)
		}
		j = indexDump(t, b, tape, j, out)
		out.WriteByte(';')
	}
	if j != int(e.Next) {
		t.Fatalf("%q: entry %d: Next %d, its values end at %d", b, i, e.Next, j)
	}
	if c == '{' {
		out.WriteByte('}')
	} else {
		out.WriteByte(']')
	}
	return j
}

func TestWalk(t *testing.T) {
	for _, b := range []string{
		`{}`, `[]`, ` { } `, `"x"`, `12`, `-1.5e+3`, `true`, `null`,
		`{"a":1,"b":"x","c":null,"d":true,"e":false}`,
		" {\n\t\"a\" :\r [ 1 , 2 ,[ ] ,{ } ] , \"b\" : { \"c\" : \"}]\" } } ",
		`{"q\"uote":"a\\\"b","\u0061\\":"\u00e9\ud83d\ude00"}`,
		`[{"a":[{"b":[[["deep"]]]}]},"x",-0,1e400]`,
		`{"s":"with, commas: and ] brackets } inside"}`,
		`["0123456789abcdef\"0123456789","01234567\\","012345678é9abcdefgh","ascii only, longer than sixteen bytes","é","\u00e9 and more than eight bytes after"]`,
	} {
		var s Scanner
		if err := s.Check([]byte(b)); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		checkWalk(t, b)
	}
}
