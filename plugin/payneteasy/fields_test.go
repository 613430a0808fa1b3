package payneteasy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/spec"
)

// sameFields reads a Check sale's fields both ways, by scanning the body
// (readFields, gjson) and over its index (readIndexed), and fails on any
// difference. It reports whether the body indexed.
func sameFields(t *testing.T, body []byte) bool {
	t.Helper()
	ix := new(bodyIndex)
	tape := ix.index(body)
	if tape == nil {
		return false
	}
	var scanned, indexed checkRequest
	scanned.readFields(body)
	indexed.readIndexed(body, tape)
	if !reflect.DeepEqual(scanned, indexed) {
		t.Fatalf("%q:\nscanned %+v\nindexed %+v", body, scanned, indexed)
	}
	return true
}

var fieldBodies = []string{
	spec.Lookup("payneteasy.check-sale").Example,
	spec.Lookup("payneteasy.check-transfer").Example,
	`{"consumer":{"device":{"serialNumber":"s1"}},"session":{"accessToken":"a","nonce":"n","signature":"S","token":"t"},` +
		`"sourceOfFunds":{"reference":{"clientCardId":"c1"}},"destinationOfFunds":{"reference":{"clientCardId":"c2"}}}`,
	// Escapes in values (a surrogate pair included) and in keys.
	`{"session":{"nonce":"a\u0041\n\"b","token":"\ud83d\ude00x","signature":"\\/"},"sess\u0069on2":1}`,
	`{"c\u006fnsumer":{"device":{"serial\u004eumber":"s\u00e9"}},"s\u0065ssion":{"t\u006fken":"t"}}`,
	// Values that are not strings, containers that are not objects.
	`{"consumer":{"device":{"serialNumber":7}},"session":{"accessToken":null,"nonce":true,"signature":{},"token":[]}}`,
	`{"consumer":[{"device":1}],"session":"x","sourceOfFunds":{"reference":[]},"destinationOfFunds":null}`,
	`{"consumer":{"device":"x"},"session":[],"sourceOfFunds":{"reference":"c"},"destinationOfFunds":{"reference":{"clientCardId":1}}}`,
	`{"session":{"session":{"token":"inner"}},"other":{"session":{"token":"deep"}},"token":"top"}`,
	`{}`, `[]`, `"session"`, `1`, `null`, `[{"session":{"token":"t"}}]`,
	` { "session" : { "token" : "spaced" } } `,
	`{"session":{"token":"é€😀","nonce":""}}`,
}

// TestReadIndexed: the two readers agree on every body that indexes.
func TestReadIndexed(t *testing.T) {
	for _, b := range fieldBodies {
		if !sameFields(t, []byte(b)) {
			t.Errorf("%q did not index", b)
		}
	}
	var c checkRequest
	body := []byte(fieldBodies[2])
	c.readIndexed(body, new(bodyIndex).index(body))
	if c.serial != "s1" || c.accessToken != "a" || c.nonce != "n" || c.signature != "S" || c.token != "t" ||
		c.clientCard != "c1" || c.destClientCard != "c2" {
		t.Errorf("fields read: %+v", c)
	}
	// Not strict JSON, or more values than the index holds: no index (the
	// check then validates and reads by scanning).
	ix := new(bodyIndex)
	// The array and its elements: indexEntries entries fit, one more not.
	if tape := ix.index([]byte("[" + strings.Repeat("1,", indexEntries-2) + "1]")); len(tape) != indexEntries {
		t.Errorf("a body of exactly indexEntries values: %d entries", len(tape))
	}
	for _, b := range []string{`{"a":1,"a":2}`, `{"a":}`, ``, "[" + strings.Repeat("1,", indexEntries-1) + "1]"} {
		if tape := ix.index([]byte(b)); tape != nil {
			t.Errorf("%.40q indexed into %d entries", b, len(tape))
		}
	}
}

// FuzzCheckFields: the two readers agree on any body that indexes.
func FuzzCheckFields(f *testing.F) {
	for _, b := range fieldBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameFields(t, body) })
}
