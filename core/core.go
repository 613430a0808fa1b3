// Package core is kassa's signing and validation core behind a byte-level
// interface: JSON in, JSON out, errors as data. It is exactly what the
// WebAssembly module exports (see wasm/README.md), and the native engine
// calls it directly, so both engines give byte-identical answers.
//
// A Core reuses its buffers between calls and is not safe for concurrent
// use: keep one per goroutine, as a wasm instance is one per call.
package core

import (
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
)

// Version of the core: the rules and the ABI. Bumped when either changes.
const Version = "0.3.0"

// Core holds the scratch space of one caller.
type Core struct {
	v    validate.Validator
	s    sign.Signer
	p    sign.Parser
	vals sign.Values
	sts  []byte // a string to sign without a signature
	out  []byte
	op   *sign.Op // the operation of the last signature
	// sigOut is {"signature":"<40 hex digits>"}, SignBinary's and
	// SignValues' answer.
	sigOut [sigAt + sigLen + 2]byte
}

var validOut = []byte(`{"valid":true,"violations":[]}`)

// The digits of a signature (SHA-1, in hex) and where sigOut holds them.
const sigLen, sigAt = 40, len(`{"signature":"`)

// New returns a Core.
func New() *Core { return &Core{} }

// Validate validates body as the endpoint and returns
// {"valid":true,"violations":[]}, {"valid":false,"violations":[{"path",
// "rule","message"},...]} or {"error":"..."} for an unknown endpoint. The
// result is valid until the next call on c.
func (c *Core) Validate(endpoint string, body []byte) []byte {
	r, err := c.v.Validate(endpoint, body)
	return c.result(r, err)
}

// ValidateIndexed is Validate for a body the caller has checked as strict
// JSON and indexed (see validate.Validator.ValidateIndexed).
func (c *Core) ValidateIndexed(endpoint string, body []byte, tape []jsonscan.Entry) []byte {
	r, err := c.v.ValidateIndexed(endpoint, body, tape)
	return c.result(r, err)
}

// ValidateQuery validates a raw query string (without '?') as the
// endpoint's query parameters; same result shape as Validate.
func (c *Core) ValidateQuery(endpoint string, query []byte) []byte {
	r, err := c.v.ValidateQuery(endpoint, string(query))
	return c.result(r, err)
}

func (c *Core) result(r validate.Result, err error) []byte {
	if err == nil && r.Valid { // small enough to be inlined
		return validOut // read-only, as every answer is to its host
	}
	return c.report(r, err)
}

// report renders an error or violations.
func (c *Core) report(r validate.Result, err error) []byte {
	if err != nil {
		return c.errorOut(err.Error())
	}
	b := append(c.out[:0], `{"valid":false,"violations":[`...)
	for i, v := range r.Violations {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"path":`...)
		b = AppendString(b, v.Path)
		b = append(b, `,"rule":`...)
		b = AppendString(b, string(v.Rule))
		b = append(b, `,"message":`...)
		b = AppendString(b, v.Message)
		b = append(b, '}')
	}
	c.out = append(b, "]}"...)
	return c.out
}

// Sign signs the fields (a JSON object, see package sign) with the
// operation and returns {"signature":"...","stringToSign":"..."} or
// {"error":"..."}.
func (c *Core) Sign(operation string, fields []byte) []byte {
	key, err := c.p.Parse(fields, &c.vals)
	return c.sign(operation, key, err, withSignature|withString)
}

// SignBinary signs fields in sign's binary form (see sign.AppendBinary)
// and returns only {"signature":"..."} or {"error":"..."}: what the proxy
// needs, as it holds the values already and logs no string to sign.
func (c *Core) SignBinary(operation string, fields []byte) []byte {
	key, err := sign.ParseBinary(fields, &c.vals)
	return c.sign(operation, key, err, withSignature)
}

// SignValues is SignBinary with the fields given as values: what the
// native engine calls for the proxy. v is not modified.
func (c *Core) SignValues(operation, controlKey string, v *sign.Values) []byte {
	c.vals = *v
	return c.sign(operation, controlKey, sign.CheckValues(&c.vals), withSignature)
}

// StringToSign returns {"stringToSign":"..."} or {"error":"..."}. It needs
// no control key except for classic operations, whose string ends with it.
func (c *Core) StringToSign(operation string, fields []byte) []byte {
	key, err := c.p.Parse(fields, &c.vals)
	return c.sign(operation, key, err, withString)
}

// What a signing answer holds.
const (
	withSignature = 1 << iota
	withString
)

// sign signs c.vals, parsed with the error perr.
func (c *Core) sign(operation, key string, perr error, with int) []byte {
	op := c.op
	if op == nil || !jsonscan.Equal(op.ID, operation) {
		op = sign.Lookup(operation)
		c.op = op // remembered, as the validator remembers its endpoint
	}
	if op == nil {
		return c.errorOut("unknown operation " + strconv.Quote(operation))
	}
	if perr != nil {
		return c.errorOut(perr.Error())
	}
	var sig, sts []byte
	var err error
	if with&withSignature != 0 || op.Scheme == sign.Classic {
		sig, sts, err = c.s.Sign(op, key, &c.vals)
	} else {
		c.sts, err = sign.AppendStringToSign(c.sts[:0], op, &c.vals)
		sts = c.sts
	}
	if err != nil {
		return c.errorOut(err.Error())
	}
	if with == withSignature && len(sig) == sigLen {
		// The proxy's answer, the same every time but for the digits:
		// filled in place (under wasm each append is a call or two).
		if c.sigOut[0] == 0 {
			copy(c.sigOut[:], `{"signature":"`)
			copy(c.sigOut[len(c.sigOut)-2:], `"}`)
		}
		copy(c.sigOut[sigAt:], sig)
		return c.sigOut[:]
	}
	b := append(c.out[:0], '{')
	if with&withSignature != 0 {
		b = append(b, `"signature":"`...)
		b = append(b, sig...)
		b = append(b, '"')
	}
	if with&withString != 0 {
		if with&withSignature != 0 {
			b = append(b, ',')
		}
		b = append(b, `"stringToSign":`...)
		// sts is the Signer's or c.sts's scratch, read before either
		// changes: no copy (under wasm an allocation costs more than
		// the signature).
		b = AppendString(b, unsafe.String(unsafe.SliceData(sts), len(sts)))
	}
	c.out = append(b, '}')
	return c.out
}

func (c *Core) errorOut(msg string) []byte {
	b := append(c.out[:0], `{"error":`...)
	b = AppendString(b, msg)
	c.out = append(b, '}')
	return c.out
}

// Endpoints returns {"version":"...","endpoints":[{"id","provider",
// "summary","method","path","response"}...],"operations":[{"id",
// "produces","fields":[...]}...]}.
func Endpoints() []byte {
	b := []byte(`{"version":`)
	b = AppendString(b, Version)
	b = append(b, `,"endpoints":[`...)
	for i, ep := range spec.All() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = AppendString(b, ep.ID)
		b = append(b, `,"provider":`...)
		b = AppendString(b, ep.Provider)
		b = append(b, `,"summary":`...)
		b = AppendString(b, ep.Summary)
		b = append(b, `,"method":`...)
		b = AppendString(b, ep.Method)
		b = append(b, `,"path":`...)
		b = AppendString(b, ep.Path)
		b = append(b, `,"response":`...)
		b = strconv.AppendBool(b, ep.Response)
		b = append(b, '}')
	}
	b = append(b, `],"operations":[`...)
	for i, op := range sign.Ops {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = AppendString(b, op.ID)
		b = append(b, `,"produces":`...)
		b = AppendString(b, op.Produces)
		b = append(b, `,"fields":[`...)
		for j, p := range op.Parts {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = AppendString(b, sign.FieldNames[p.Field])
			b = append(b, `,"optional":`...)
			b = strconv.AppendBool(b, p.Optional)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
