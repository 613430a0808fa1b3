package validate

import (
	"testing"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/spec"
)

// TestSameWordsAndTails: sibling keys longer than 16 bytes that differ only
// in their middle share a word, a tail and a length, which no hash of the
// three tells apart: the trie still compiles (it used to loop) and finds
// each, in the scanning and the indexed walk alike.
func TestSameWordsAndTails(t *testing.T) {
	cs := compileScope("test", &spec.Scope{Fields: []*spec.Field{
		{Path: "deliveryAddressStreetName", Kind: spec.String, Required: true, MaxLen: 3},
		{Path: "deliveryContactStreetName", Kind: spec.String, Required: true, MaxLen: 3},
		{Path: "deliveryXXXXXXXStreetName", Kind: spec.String},
		{Path: "short", Kind: spec.String},
	}})
	for _, key := range []string{"deliveryAddressStreetName", "deliveryContactStreetName", "deliveryXXXXXXXStreetName", "short"} {
		if c := cs.root.child(key, jsonscan.Word(key)); c == nil || c.key != key {
			t.Errorf("child(%q) = %v", key, c)
		}
	}
	if c := cs.root.child("deliveryYYYYYYYStreetName", jsonscan.Word("deliveryYYYYYYYStreetName")); c != nil {
		t.Errorf("an unknown key with the same word and tail found %q", c.key)
	}
	ep := &compiled{ep: &spec.Endpoint{ID: "test", Body: spec.JSONBody}, body: cs}
	for _, indexed := range []bool{false, true} {
		was := indexNatively
		indexNatively = indexed
		v := &Validator{last: ep}
		r, err := v.Validate("test", []byte(`{"deliveryContactStreetName":"long","deliveryAddressStreetName":"ok","deliveryYYYYYYYStreetName":1}`))
		indexNatively = was
		if err != nil || len(r.Violations) != 1 || r.Violations[0].Path != "deliveryContactStreetName" || r.Violations[0].Rule != spec.RuleLength {
			t.Errorf("indexed %v: %+v %v", indexed, r, err)
		}
	}
}
