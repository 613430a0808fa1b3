package engine

import (
	"bytes"
	"errors"

	"github.com/tidwall/gjson"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
)

// The decoders below are shared by both engines, so that equal bytes from
// the core always give equal values. out may alias memory the engine
// reuses (a wasm instance's linear memory): nothing returned aliases it.

var (
	prefixValid = []byte(`{"valid":true`)
	prefixError = []byte(`{"error":`)
)

// errMalformed is a fault: the core answered something that is not one of
// its documented shapes.
var errMalformed = errors.New("engine: malformed answer from the core")

var sigPrefix, sigSuffix = []byte(`{"signature":"`), []byte(`"}`)

// isHex reports whether b is hex digits (a signature's case is the
// operation's: DAPI's are upper case).
func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// coreError decodes an {"error":"..."} answer, or returns nil.
func coreError(out []byte) error {
	if !bytes.HasPrefix(out, prefixError) {
		return nil
	}
	msg := gjson.GetBytes(out, "error")
	if msg.Type != gjson.String {
		return errMalformed
	}
	return &CoreError{Message: msg.Str}
}

// decodeResult decodes a Validate or ValidateQuery answer. The common
// answer, {"valid":true,"violations":[]}, is recognised by its prefix and
// costs nothing.
func decodeResult(out []byte) (validate.Result, error) {
	if bytes.HasPrefix(out, prefixValid) {
		return validate.Result{Valid: true}, nil
	}
	if err := coreError(out); err != nil {
		return validate.Result{}, err
	}
	// One copy; the strings of the violations share it.
	root := gjson.Parse(string(out))
	valid, list := root.Get("valid"), root.Get("violations")
	if valid.Type != gjson.False || !list.IsArray() {
		return validate.Result{}, errMalformed
	}
	var r validate.Result
	ok := true
	list.ForEach(func(_, v gjson.Result) bool {
		p, rule, msg := v.Get("path"), v.Get("rule"), v.Get("message")
		if p.Type != gjson.String || rule.Type != gjson.String || msg.Type != gjson.String {
			ok = false
			return false
		}
		r.Violations = append(r.Violations, validate.Violation{Path: p.Str, Rule: spec.Rule(rule.Str), Message: msg.Str})
		return true
	})
	if !ok || len(r.Violations) == 0 {
		return validate.Result{}, errMalformed
	}
	return r, nil
}

// decodeSignature decodes a Sign answer.
func decodeSignature(out []byte) (Signature, error) {
	s, err := decodeSignatureOnly(out)
	if err != nil {
		return s, err
	}
	if s.StringToSign, err = decodeStringToSign(out); err != nil {
		return Signature{}, err
	}
	return s, nil
}

// decodeSignatureOnly decodes a SignBinary or SignValues answer, which
// holds no string to sign.
func decodeSignatureOnly(out []byte) (Signature, error) {
	// The core's one shape of a signature answer (core.Core's sigOut),
	// recognised without a parse.
	if len(out) == len(sigPrefix)+40+2 && bytes.HasPrefix(out, sigPrefix) && bytes.HasSuffix(out, sigSuffix) && isHex(out[len(sigPrefix):len(out)-2]) {
		return Signature{Value: string(out[len(sigPrefix) : len(out)-2])}, nil
	}
	if err := coreError(out); err != nil {
		return Signature{}, err
	}
	sig := gjson.GetBytes(out, "signature")
	if sig.Type != gjson.String {
		return Signature{}, errMalformed
	}
	return Signature{Value: sig.Str}, nil
}

// decodeStringToSign decodes a StringToSign answer.
func decodeStringToSign(out []byte) (string, error) {
	if err := coreError(out); err != nil {
		return "", err
	}
	sts := gjson.GetBytes(out, "stringToSign")
	if sts.Type != gjson.String {
		return "", errMalformed
	}
	return sts.Str, nil
}
