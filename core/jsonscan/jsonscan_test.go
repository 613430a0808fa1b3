package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in, path, msg string // msg "" = valid
	}{
		{`{}`, "", ""},
		{`{"a":1,"b":[1,2,{"c":null}],"d":"x\u00e9\"","e":-0.5e+10,"f":true,"g":false}`, "", ""},
		{` [ ] `, "", ""},
		{`{"a":"\ud83d\ude00 \uD83D\uDE00"}`, "", ""},
		{`"x"`, "", ""},
		{``, "", "empty body"},
		{`   `, "", "empty body"},
		{`{"a":1,"a":2}`, "a", "duplicate key"},
		{`{"s":{"n":1,"n":2}}`, "s.n", "duplicate key"},
		{`{"a":1,"\u0061":2}`, "a", "duplicate key"},
		{`{"x":[{"k":1},{"k":1,"k":2}]}`, "x.1.k", "duplicate key"},
		{`{"a":1,}`, "", "expected a string key"},
		{`{"a":01}`, "", "expected ',' or '}'"},
		{`{"a":1.}`, "a", "invalid number"},
		{`{"a":1e}`, "a", "invalid number"},
		{`{"a":-}`, "a", "invalid number"},
		{`{"a":NaN}`, "a", "invalid character"},
		{`{"a":tru}`, "a", "invalid literal"},
		{`{"a":"\x"}`, "a", "invalid escape"},
		{`{"a":"\u12"}`, "a", "invalid \\u escape"},
		{`{"a":"\ud800"}`, "a", "unpaired surrogate"},
		{`{"a":"\uD800x"}`, "a", "unpaired surrogate"},
		{`{"a":"\ud800\u0041"}`, "a", "unpaired surrogate"},
		{`{"a":"\udc00"}`, "a", "unpaired surrogate"},
		{`{"a":"\ud800\ud800"}`, "a", "unpaired surrogate"},
		{`{"a":"\ud800\u`, "a", "unpaired surrogate"},
		{"{\"a\":\"\x01\"}", "a", "control character"},
		{"{\"a\":\"\xff\"}", "a", "invalid UTF-8"},
		{`{"a":1} x`, "", "unexpected data"},
		{`{"a":"x`, "a", "unterminated string"},
		{`[1,2`, "1", "unexpected end"},
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), "", "nesting deeper than 64"},
	} {
		var s Scanner
		err := s.Check([]byte(tc.in))
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%q: unexpected error %v", tc.in, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: no error, want %q", tc.in, tc.msg)
			continue
		}
		if !strings.Contains(err.Msg, tc.msg) || !strings.HasPrefix(err.Path, tc.path) {
			t.Errorf("%q: got path %q msg %q, want path %q msg containing %q", tc.in, err.Path, err.Msg, tc.path, tc.msg)
		}
	}
}

func TestLargeObjectDuplicates(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 1000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + itoa(i) + `":{"inner":1,"x":2}`)
	}
	var s Scanner
	if err := s.Check([]byte(b.String() + "}")); err != nil {
		t.Fatalf("1000 distinct keys: %v", err)
	}
	if err := s.Check([]byte(b.String() + `,"k500":1}`)); err == nil || err.Path != "k500" {
		t.Fatalf("duplicate k500 in a large object: got %v", err)
	}
	// An escaped duplicate in a large object.
	if err := s.Check([]byte(b.String() + `,"\u006b7":1}`)); err == nil || err.Path != "k7" {
		t.Fatalf("escaped duplicate k7: got %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`a\"b`:          `a"b`,
		`\u00e9`:        "é",
		`\ud83d\ude00`:  "😀",
		`\n\t\/\\`:      "\n\t/\\",
		`plain`:         "plain",
		`\u0061\u0062c`: "abc",
	} {
		if got := string(Unescape(nil, []byte(in))); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCheck compares Check with encoding/json: both must agree on validity
// (for inputs without duplicate keys, which encoding/json accepts), and
// Check must never panic.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":`, `{"a":[1,2.5e3,"x",null,true]}`, `{"a":1,"a":2}`, `[{"\u0061":1,"a":2}]`, `"\ud800"`, "{\"a\":\"\xc3\x28\"}", `-0`, `1e400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Scanner
		err := s.Check(b)
		std := json.Valid(b)
		// Indexing while checking changes no verdict and no error.
		ix := Scanner{Tape: make([]Entry, 8)}
		if e2 := ix.Check(b); (e2 == nil) != (err == nil) || (err != nil && *e2 != *err) {
			t.Fatalf("%q: Check %v; with a tape %v", b, err, e2)
		}
		if err == nil && !std {
			t.Fatalf("Check accepted what encoding/json rejects: %q", b)
		}
		// encoding/json accepts invalid UTF-8 (it substitutes U+FFFD); kassa
		// rejects it on purpose, as it does duplicates and deep nesting.
		if err != nil && std && utf8.Valid(b) && !strings.Contains(err.Msg, "duplicate key") && !strings.Contains(err.Msg, "nesting") && !strings.Contains(err.Msg, "surrogate") {
			t.Fatalf("Check rejected valid JSON %q: %v", b, err)
		}
		// What Check accepts, the walk functions read as gjson does.
		if err == nil {
			checkWalk(t, string(b))
		}
	})
}

// A large inner object must not hide a duplicate in a large outer one: the
// shared key set is rebuilt for the object it is used for.
func TestLargeNestedObjects(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"session":1`)
	for i := 0; i < 32; i++ {
		b.WriteString(`,"a` + itoa(i) + `":0`)
	}
	b.WriteString(`,"a32":{`)
	for i := 0; i < 34; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"b` + itoa(i) + `":0`)
	}
	b.WriteString(`},"session":2}`)
	var s Scanner
	if err := s.Check([]byte(b.String())); err == nil || err.Path != "session" {
		t.Fatalf("duplicate session after a large inner object: got %v", err)
	}
}
