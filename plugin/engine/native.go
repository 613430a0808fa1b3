package engine

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/validate"
)

// native runs the core compiled into the binary: a pool of *core.Core,
// one per concurrent call (a Core reuses its buffers and is not safe for
// concurrent use).
type native struct {
	pool      sync.Pool
	closed    atomic.Bool
	endpoints []byte
}

// NewNative returns an Engine that calls package core directly. It needs
// no Close, but after Close it refuses calls like the wasm engine.
func NewNative() Engine {
	n := &native{endpoints: core.Endpoints()}
	n.pool.New = func() any { return core.New() }
	return n
}

// Name returns "native".
func (n *native) Name() string { return "native" }

// Version returns core.Version.
func (n *native) Version() string { return core.Version }

// Endpoints returns a copy of core.Endpoints().
func (n *native) Endpoints() []byte { return append([]byte(nil), n.endpoints...) }

// Close makes later calls return ErrClosed.
func (n *native) Close(context.Context) error {
	n.closed.Store(true)
	return nil
}

// do runs fn on a pooled Core; a validation runs over tape, b's index,
// when there is one. out is valid until c goes back to the pool.
func (n *native) do(ctx context.Context, fn Func, a string, b []byte, tape []jsonscan.Entry) (c *core.Core, out []byte, err error) {
	if err := checkInput(ctx, fn, len(a)+len(b)); err != nil {
		return nil, nil, err
	}
	if n.closed.Load() {
		return nil, nil, ErrClosed
	}
	c = n.pool.Get().(*core.Core)
	switch fn {
	case FuncValidate:
		out = c.ValidateIndexed(a, b, tape) // without a tape, Validate
	case FuncValidateQuery:
		out = c.ValidateQuery(a, b)
	case FuncSign:
		// The core's Signer keeps the control key as a string aliasing the
		// fields (sign.Signer.keyed); if the caller then reused its buffer
		// for another key, a later Sign on this pooled Core could sign
		// with the old key. A private copy is never rewritten.
		out = c.Sign(a, bytes.Clone(b))
	case FuncSignBinary:
		out = c.SignBinary(a, bytes.Clone(b)) // a private copy, as for Sign
	default:
		out = c.StringToSign(a, b)
	}
	return c, out, nil
}

// Raw returns a copy of the core's answer.
func (n *native) Raw(ctx context.Context, fn Func, a string, b []byte) ([]byte, error) {
	c, out, err := n.do(ctx, fn, a, b, nil)
	if err != nil {
		return nil, err
	}
	out = append([]byte(nil), out...)
	n.pool.Put(c)
	return out, nil
}

// Validate validates body as the endpoint.
func (n *native) Validate(ctx context.Context, endpoint string, body []byte) (validate.Result, error) {
	return n.ValidateIndexed(ctx, endpoint, body, nil)
}

// ValidateIndexed validates body over the caller's index of it.
func (n *native) ValidateIndexed(ctx context.Context, endpoint string, body []byte, tape []jsonscan.Entry) (validate.Result, error) {
	c, out, err := n.do(ctx, FuncValidate, endpoint, body, tape)
	if err != nil {
		return validate.Result{}, err
	}
	r, err := decodeResult(out)
	n.pool.Put(c)
	return r, err
}

// ValidateQuery validates a raw query string as the endpoint's query.
func (n *native) ValidateQuery(ctx context.Context, endpoint, rawQuery string) (validate.Result, error) {
	c, out, err := n.do(ctx, FuncValidateQuery, endpoint, stringBytes(rawQuery), nil)
	if err != nil {
		return validate.Result{}, err
	}
	r, err := decodeResult(out)
	n.pool.Put(c)
	return r, err
}

// Sign signs fields with the operation.
func (n *native) Sign(ctx context.Context, op string, fields []byte) (Signature, error) {
	c, out, err := n.do(ctx, FuncSign, op, fields, nil)
	if err != nil {
		return Signature{}, err
	}
	s, err := decodeSignature(out)
	n.pool.Put(c)
	return s, err
}

// SignValues signs v with the operation; the Core reads v directly.
func (n *native) SignValues(ctx context.Context, op, controlKey string, v *sign.Values) (Signature, error) {
	if err := checkInput(ctx, FuncSignBinary, len(op)); err != nil {
		return Signature{}, err
	}
	if n.closed.Load() {
		return Signature{}, ErrClosed
	}
	c := n.pool.Get().(*core.Core)
	s, err := decodeSignatureOnly(c.SignValues(op, controlKey, v))
	n.pool.Put(c)
	return s, err
}

// StringToSign returns the operation's string to sign.
func (n *native) StringToSign(ctx context.Context, op string, fields []byte) (string, error) {
	c, out, err := n.do(ctx, FuncStringToSign, op, fields, nil)
	if err != nil {
		return "", err
	}
	s, err := decodeStringToSign(out)
	n.pool.Put(c)
	return s, err
}
