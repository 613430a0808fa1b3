package engine

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
)

// same reports whether two errors are the same answer: both nil, or
// CoreErrors with the same message.
func same(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var ca, cb *CoreError
	return errors.As(a, &ca) && errors.As(b, &cb) && ca.Message == cb.Message
}

func coreOrNil(err error) bool {
	var ce *CoreError
	return err == nil || errors.As(err, &ce)
}

func short(b []byte) string {
	if len(b) > 300 {
		return strings.ToValidUTF8(string(b[:300]), "?") + "..."
	}
	return strings.ToValidUTF8(string(b), "?")
}

// checkSame calls fn on both engines, raw and decoded, and fails on any
// difference; the raw answer of the pure guest (no host primitives) must
// be the same too. It returns the raw answer.
func checkSame(t testing.TB, fn Func, a string, b []byte) []byte {
	t.Helper()
	ctx := context.Background()
	rn, errN := sharedN.Raw(ctx, fn, a, b)
	rw, errW := sharedW.Raw(ctx, fn, a, b)
	rp, errP := sharedP.Raw(ctx, fn, a, b)
	if errN != nil || errW != nil || errP != nil {
		t.Fatalf("%s(%q, %q): native error %v, wasm error %v, pure wasm error %v", fn, a, short(b), errN, errW, errP)
	}
	if !bytes.Equal(rn, rw) {
		t.Fatalf("%s(%q, %q): answers differ\nnative: %s\nwasm:   %s", fn, a, short(b), short(rn), short(rw))
	}
	if !bytes.Equal(rn, rp) {
		t.Fatalf("%s(%q, %q): answers differ\nnative:    %s\npure wasm: %s", fn, a, short(b), short(rn), short(rp))
	}
	switch fn {
	case FuncValidate, FuncValidateQuery:
		var vn, vw validate.Result
		if fn == FuncValidate {
			vn, errN = sharedN.Validate(ctx, a, b)
			vw, errW = sharedW.Validate(ctx, a, b)
		} else {
			vn, errN = sharedN.ValidateQuery(ctx, a, string(b))
			vw, errW = sharedW.ValidateQuery(ctx, a, string(b))
		}
		if !same(errN, errW) || !reflect.DeepEqual(vn, vw) {
			t.Fatalf("%s(%q, %q): decoded answers differ\nnative: %+v %v\nwasm:   %+v %v", fn, a, short(b), vn, errN, vw, errW)
		}
		if !coreOrNil(errW) {
			t.Fatalf("%s(%q, %q): engine error %v", fn, a, short(b), errW)
		}
		if fn == FuncValidate {
			// Over the caller's own index (none when b does not index),
			// every engine answers as Validate does; the pure guest
			// (no host primitives) falls back to its own check.
			tape := make([]jsonscan.Entry, 256)
			n := jsonscan.Index(string(b), tape)
			for _, e := range []Engine{sharedN, sharedW, sharedP} {
				vi, errI := e.ValidateIndexed(ctx, a, b, tape[:n])
				if !same(errI, errN) || !reflect.DeepEqual(vi, vn) {
					t.Fatalf("ValidateIndexed(%q, %q) on %s, %d entries: %+v %v, Validate: %+v %v", a, short(b), e.Name(), n, vi, errI, vn, errN)
				}
			}
		}
		// The decoding is right: it gives what package validate says
		// (JSON turns invalid UTF-8 in messages into U+FFFD, so compare
		// only valid text).
		if errN == nil && utf8.Valid(b) && validText(vn) {
			var want validate.Result
			var err error
			if fn == FuncValidate {
				want, err = validate.Validate(a, b)
			} else {
				want, err = validate.ValidateQuery(a, string(b))
			}
			if err != nil || !reflect.DeepEqual(want, vn) {
				t.Fatalf("%s(%q, %q): decoded %+v, package validate says %+v, %v", fn, a, short(b), vn, want, err)
			}
		}
	case FuncSign:
		sn, errN := sharedN.Sign(ctx, a, b)
		sw, errW := sharedW.Sign(ctx, a, b)
		if !same(errN, errW) || sn != sw || !coreOrNil(errW) {
			t.Fatalf("Sign(%q, %q): decoded answers differ\nnative: %+v %v\nwasm:   %+v %v", a, short(b), sn, errN, sw, errW)
		}
	case FuncSignBinary:
		var v sign.Values
		key, perr := sign.ParseBinary(b, &v)
		if perr != nil {
			break // only Raw can send malformed binary fields
		}
		sn, errN := sharedN.SignValues(ctx, a, key, &v)
		sw, errW := sharedW.SignValues(ctx, a, key, &v)
		if !same(errN, errW) || sn != sw || !coreOrNil(errW) {
			t.Fatalf("SignValues(%q, %q): decoded answers differ\nnative: %+v %v\nwasm:   %+v %v", a, short(b), sn, errN, sw, errW)
		}
	case FuncStringToSign:
		sn, errN := sharedN.StringToSign(ctx, a, b)
		sw, errW := sharedW.StringToSign(ctx, a, b)
		if !same(errN, errW) || sn != sw || !coreOrNil(errW) {
			t.Fatalf("StringToSign(%q, %q): decoded answers differ\nnative: %q %v\nwasm:   %q %v", a, short(b), sn, errN, sw, errW)
		}
	}
	return rn
}

// checkBinary: the same fields in the binary form (kassa_sign_binary,
// SignValues) give the same answer as the JSON form, in both engines.
func checkBinary(t *testing.T, op string, fields []byte) {
	t.Helper()
	var p sign.Parser
	var v sign.Values
	key, err := p.Parse(fields, &v)
	if err != nil {
		return // the JSON form is refused: nothing to translate
	}
	bin := sign.AppendBinary(nil, key, &v)
	want := checkSame(t, FuncSign, op, fields)
	got := checkSame(t, FuncSignBinary, op, bin)
	// The same signature or the same error; the binary answer has no
	// string to sign.
	if w := gjson.GetBytes(want, "signature").Str + gjson.GetBytes(want, "error").Str; w != gjson.GetBytes(got, "signature").Str+gjson.GetBytes(got, "error").Str || w == "" {
		t.Fatalf("%s: binary fields answer %s, JSON fields %s", op, got, want)
	}
	if gjson.GetBytes(got, "stringToSign").Exists() {
		t.Fatalf("%s: binary fields answer %s carries the string to sign", op, got)
	}
}

// TestEquivalence is the property test: for many generated inputs, the
// two engines give byte-identical answers.
func TestEquivalence(t *testing.T) {
	n := 250
	if testing.Short() {
		n = 40
	}
	r := rand.New(rand.NewSource(20261122))
	t.Run("validate", func(t *testing.T) {
		invalid, total := 0, 0
		rules := map[string]int{}
		for _, ep := range spec.All() {
			for i, b := range bodyCases(r, ep, n) {
				out := checkSame(t, FuncValidate, ep.ID, b)
				if i == 0 && ep.Example != "" && !bytes.HasPrefix(out, []byte(`{"valid":true`)) {
					t.Errorf("%s: example is not valid: %s", ep.ID, out)
				}
				if bytes.HasPrefix(out, []byte(`{"valid":false`)) {
					invalid++
					gjson.GetBytes(out, "violations.#.rule").ForEach(func(_, v gjson.Result) bool {
						rules[v.Str]++
						return true
					})
				}
				total++
			}
		}
		// The generator must reach the rules, not only the JSON check.
		t.Logf("%d bodies over %d endpoints, %d invalid; violations by rule: %v", total, len(spec.All()), invalid, rules)
		if invalid < total/4 || invalid == total {
			t.Errorf("generator is off: %d of %d invalid", invalid, total)
		}
		for _, rule := range []spec.Rule{spec.RuleJSON, spec.RuleRequired, spec.RuleType, spec.RuleLength, spec.RuleRange,
			spec.RuleEnum, spec.RulePattern, spec.RuleOneOf, spec.RuleConditional} {
			if rules[string(rule)] == 0 {
				t.Errorf("generator never broke rule %s", rule)
			}
		}
	})
	t.Run("validate_query", func(t *testing.T) {
		for _, ep := range spec.All() {
			m := n / 5
			if len(ep.Query) > 0 {
				m = n
			}
			for _, q := range queryCases(r, ep, m) {
				checkSame(t, FuncValidateQuery, ep.ID, []byte(q))
			}
		}
	})
	t.Run("sign", func(t *testing.T) {
		_, vecs := loadVectors(t)
		for _, v := range vecs {
			checkSame(t, FuncSign, v.op, v.fields)
			checkSame(t, FuncStringToSign, v.op, v.fields)
			checkBinary(t, v.op, v.fields)
		}
		for _, op := range sign.Ops {
			for _, c := range signCases(r, op, n) {
				checkSame(t, FuncSign, c.op, c.fields)
				checkSame(t, FuncStringToSign, c.op, c.fields)
				checkBinary(t, c.op, c.fields)
			}
		}
	})
	t.Run("unknown", func(t *testing.T) {
		for _, name := range []string{"", "nope", "payneteasy.check-sale ", "PAYNETEASY.CHECK-SALE", "dapi.check-sale", "\xff", strings.Repeat("a", 5000)} {
			for fn := range numFuncs {
				checkSame(t, fn, name, []byte(`{}`))
			}
		}
	})
}

// TestVectors checks the published signatures in both engines, and
// recomputes them with the standard library.
func TestVectors(t *testing.T) {
	ctx := context.Background()
	key, vecs := loadVectors(t)
	for _, v := range vecs {
		var want string
		if v.classic {
			sum := sha1.Sum([]byte(v.sts)) // the string to sign ends with the key
			want = hex.EncodeToString(sum[:])
			if !strings.HasSuffix(v.sts, key) {
				t.Errorf("%s: classic string to sign does not end with the key", v.op)
			}
		} else {
			want = independentDAPI(key, v.sts)
		}
		if want != v.sig {
			t.Errorf("%s: the standard library gives %s, the vector says %s", v.op, want, v.sig)
		}
		for _, e := range []Engine{sharedN, sharedW} {
			s, err := e.Sign(ctx, v.op, v.fields)
			if err != nil {
				t.Fatalf("%s %s: %v", e.Name(), v.op, err)
			}
			if s.Value != want || s.StringToSign != v.sts {
				t.Errorf("%s %s: got %s over %q, want %s over %q", e.Name(), v.op, s.Value, s.StringToSign, want, v.sts)
			}
			sts, err := e.StringToSign(ctx, v.op, v.fields)
			if err != nil || sts != v.sts {
				t.Errorf("%s %s: StringToSign %q, %v; want %q", e.Name(), v.op, sts, err, v.sts)
			}
		}
	}
}

// TestAnswers checks the decoded shapes and the error kinds on both
// engines.
func TestAnswers(t *testing.T) {
	ctx := context.Background()
	ep := spec.Lookup("payneteasy.check-sale")
	for _, e := range []Engine{sharedN, sharedW} {
		r, err := e.Validate(ctx, ep.ID, []byte(ep.Example))
		if err != nil || !r.Valid || r.Violations != nil {
			t.Errorf("%s: example: %+v, %v", e.Name(), r, err)
		}
		r, err = e.Validate(ctx, ep.ID, []byte(`{"session":{"nonce":1}}`))
		if err != nil || r.Valid || len(r.Violations) < 2 || r.Violations[0].Rule == "" {
			t.Errorf("%s: invalid body: %+v, %v", e.Name(), r, err)
		}
		var ce *CoreError
		_, err = e.Validate(ctx, "no.such", nil)
		if !errors.As(err, &ce) || ce.Message != `unknown endpoint "no.such"` {
			t.Errorf("%s: unknown endpoint: %v", e.Name(), err)
		}
		_, err = e.Sign(ctx, "dapi.check-sale", []byte(`{"serialNumber":"a"}`))
		if !errors.As(err, &ce) || ce.Message != "controlKey is required" {
			t.Errorf("%s: no key: %v", e.Name(), err)
		}
		_, err = e.Sign(ctx, "dapi.check-sale", []byte(`{"controlKey":"xyz"}`))
		if !errors.As(err, &ce) || strings.Contains(ce.Message, "xyz") {
			t.Errorf("%s: bad key: %v", e.Name(), err)
		}
		if _, err := e.Raw(ctx, Func(9), "", nil); err == nil {
			t.Errorf("%s: Raw with a bad Func succeeded", e.Name())
		}
		big := make([]byte, MaxInputSize+1)
		if _, err := e.Validate(ctx, ep.ID, big); !errors.Is(err, ErrInputTooLarge) {
			t.Errorf("%s: big input: %v", e.Name(), err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := e.Validate(cctx, ep.ID, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled context: %v", e.Name(), err)
		}
		if !bytes.Equal(e.Endpoints(), sharedN.Endpoints()) || e.Version() != sharedN.Version() {
			t.Errorf("%s: Endpoints or Version differ", e.Name())
		}
	}
	if sharedN.Name() != "native" || sharedW.Name() != "wasm" {
		t.Error("names")
	}
}

// validText reports whether the texts of r are valid UTF-8 (the JSON
// answer replaces invalid bytes, e.g. of a %ff query key, with U+FFFD).
func validText(r validate.Result) bool {
	for _, v := range r.Violations {
		if !utf8.ValidString(v.Path) || !utf8.ValidString(v.Message) || strings.ContainsRune(v.Path+v.Message, utf8.RuneError) {
			return false
		}
	}
	return true
}
