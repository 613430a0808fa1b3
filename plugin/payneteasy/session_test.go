package payneteasy

import (
	"reflect"
	"testing"
	"time"
)

// loadSession is hand-written for speed: every field must survive a round
// trip through marshal.
func TestSessionRoundTrip(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	in := &session{Flow: "transfer", InvoiceID: "inv-1", EndpointID: "1111", Serial: "SN \"é\"", TokenDigest: "abc",
		Consumer: "m:c", Nonce: "n", Signature: "S", Amount: 1 << 40, Currency: "EUR", Token: "tok",
		State: "APPROVED", BankOrderID: "b-1", Created: now, Expires: now.Add(time.Hour), Final: true}
	// Every field set: a new field left out of loadSession fails here.
	v := reflect.ValueOf(*in)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Fatalf("test session leaves %s empty", v.Type().Field(i).Name)
		}
	}
	out, err := loadSession(in.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n%+v\n%+v", in, out)
	}
	if _, err := loadSession([]byte(`{"flow":`)); err == nil {
		t.Fatal("corrupt record accepted")
	}
}
