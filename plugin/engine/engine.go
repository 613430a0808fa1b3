// Package engine runs kassa's core (package core) for the proxy, either
// compiled into the binary (NewNative) or as the WebAssembly module
// wasm/kassa.wasm under wazero (NewWasm). Both engines speak the core's
// byte-level interface (JSON in, JSON out, errors as data) and decode its
// answers with the same code, so they return identical values; the tests
// prove it byte for byte.
//
// Errors come in two kinds. An answer of the core that is an error
// ({"error":"..."}: unknown endpoint or operation, missing field, bad
// control key) is a *CoreError: the request is wrong. Anything else
// (ErrClosed, ErrInputTooLarge, a cancelled context, a trapped instance) is
// a fault of the engine.
package engine

import (
	"context"
	"errors"
	"strconv"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/validate"
)

// Engine runs the core. Every method is safe for concurrent use.
type Engine interface {
	// Name is "wasm" or "native".
	Name() string
	// Validate validates body as the endpoint (e.g.
	// "payneteasy.check-sale"). A body that breaks rules is not an error:
	// it gives Result{Valid: false, Violations: ...}.
	Validate(ctx context.Context, endpoint string, body []byte) (validate.Result, error)
	// ValidateIndexed is Validate for a body its caller has checked and
	// indexed natively: tape is jsonscan.Index's entries for exactly this
	// body (tape[:n], a check with jsonscan.DefaultMaxDepth), which the
	// engine trusts as it trusts its own check: it checks the index's
	// consistency, not the body's strictness (duplicate keys, depth).
	// A caller that reads the body's fields afterwards reads them from
	// the same index instead of scanning the body again. An empty tape
	// (the body did not index: not strict JSON, or more values than the
	// caller's buffer) makes it Validate.
	ValidateIndexed(ctx context.Context, endpoint string, body []byte, tape []jsonscan.Entry) (validate.Result, error)
	// ValidateQuery validates a raw query string (without '?') as the
	// endpoint's query parameters.
	ValidateQuery(ctx context.Context, endpoint, rawQuery string) (validate.Result, error)
	// Sign signs fields, a JSON object holding controlKey and the
	// operation's fields (see package sign), with the operation (e.g.
	// "dapi.check-sale").
	Sign(ctx context.Context, op string, fields []byte) (Signature, error)
	// SignValues is Sign for a caller that holds the values already (the
	// proxy): no JSON object to build, nor for the core to parse, and no
	// string to sign in the answer (StringToSign is empty). The values
	// are not modified.
	SignValues(ctx context.Context, op, controlKey string, v *sign.Values) (Signature, error)
	// StringToSign returns the operation's string to sign for fields.
	StringToSign(ctx context.Context, op string, fields []byte) (string, error)
	// Raw calls one function of the core and returns its JSON answer
	// uninterpreted (an {"error":...} answer is not turned into a
	// CoreError), copied: the caller owns it. a is the endpoint or
	// operation, b the body, query or fields.
	Raw(ctx context.Context, fn Func, a string, b []byte) ([]byte, error)
	// Version is the core's version (core.Version of the code that runs).
	Version() string
	// Endpoints returns the core's JSON list of endpoints and operations
	// (see core.Endpoints); the caller owns the slice.
	Endpoints() []byte
	// Close releases the engine. Later calls return ErrClosed; calls in
	// progress finish. Close is idempotent.
	Close(ctx context.Context) error
}

// Func names a function of the core, for Raw.
type Func uint8

// The core's functions, as the wasm module exports them (kassa_<name>).
const (
	FuncValidate      Func = iota // core.Core.Validate, kassa_validate
	FuncValidateQuery             // core.Core.ValidateQuery, kassa_validate_query
	FuncSign                      // core.Core.Sign, kassa_sign
	FuncStringToSign              // core.Core.StringToSign, kassa_string_to_sign
	FuncSignBinary                // core.Core.SignBinary, kassa_sign_binary (SignValues)
	numFuncs
)

var funcNames = [numFuncs]string{"validate", "validate_query", "sign", "string_to_sign", "sign_binary"}

// String returns the function's name: "validate", "validate_query",
// "sign", "string_to_sign" or "sign_binary" (the wasm export without its "kassa_"
// prefix; also the name given to WasmConfig.Observe).
func (f Func) String() string {
	if f < numFuncs {
		return funcNames[f]
	}
	return "func(" + strconv.Itoa(int(f)) + ")"
}

// Signature is the result of Sign.
type Signature struct {
	// Value is the signature: 40 hex digits, upper case for DAPI
	// operations, lower case for classic ones.
	Value string
	// StringToSign is what was hashed. For classic operations it ends with
	// the control key: never log it.
	StringToSign string
}

// CoreError is an error answer of the core: an unknown endpoint or
// operation, a missing or malformed field, a bad control key. It never
// contains the control key.
type CoreError struct {
	Message string
}

// Error returns the core's message.
func (e *CoreError) Error() string { return e.Message }

// MaxInputSize bounds the bytes of one call (endpoint or operation name
// plus body, query or fields). Larger inputs are refused with
// ErrInputTooLarge before they reach the core, by both engines.
const MaxInputSize = 4 << 20

var (
	// ErrClosed is returned by calls on a closed engine.
	ErrClosed = errors.New("engine: closed")
	// ErrInputTooLarge is returned for an input over MaxInputSize.
	ErrInputTooLarge = errors.New("engine: input larger than 4 MiB")
	// errBadFunc is returned by Raw for a Func outside the constants.
	errBadFunc = errors.New("engine: unknown function")
)

// checkInput applies the checks both engines make before a call.
// n is the size of the call's input (name and body, query or fields).
func checkInput(ctx context.Context, fn Func, n int) error {
	if fn >= numFuncs {
		return errBadFunc
	}
	if n > MaxInputSize {
		return ErrInputTooLarge
	}
	return ctx.Err()
}
