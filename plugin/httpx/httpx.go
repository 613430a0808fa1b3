// Package httpx holds the small HTTP pieces every kassa provider needs:
// bounded body reads, capturing the next handler's answer, JSON answers.
package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ErrTooLarge is returned by ReadBody when the body exceeds the limit.
var ErrTooLarge = errors.New("body too large")

// ReadBody reads the whole request body, at most limit bytes. A larger
// body (declared or actual) gives ErrTooLarge without reading the rest.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrTooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	if n := r.ContentLength; n >= 0 {
		// The declared length: one buffer of that size, read in full. The
		// server stops the body there; a body reader that does not (one
		// that is not net/http's) is read on to the limit.
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		// One more byte: net/http's body answers (0, io.EOF) at once. Any
		// answer without a byte ends the body, as it would for io.ReadAll
		// at the limit.
		var one [1]byte
		if k, _ := r.Body.Read(one[:]); k == 0 {
			return b, nil
		}
		b = append(b, one[0])
		return readRest(r.Body, b, limit)
	}
	return readRest(r.Body, make([]byte, 0, 512), limit)
}

// readRest reads what is left of body after b, up to limit bytes in all.
func readRest(body io.Reader, b []byte, limit int64) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	_, err := buf.ReadFrom(io.LimitReader(body, limit+1-int64(len(b))))
	if err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, ErrTooLarge
	}
	return buf.Bytes(), nil
}

// Captured is the next handler's buffered answer.
type Captured struct {
	Status int
	Header http.Header
	Body   []byte
}

// Capture runs next with r (whose body is replaced by body) and buffers its
// answer instead of sending it, up to limit bytes. The caller decides what
// reaches the client.
func Capture(next caddyhttp.Handler, w http.ResponseWriter, r *http.Request, body []byte, limit int64) (*Captured, error) {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r2.Header.Del("Transfer-Encoding")
	r2.Header.Del("Accept-Encoding") // the answer must be readable here, not gzip
	// The recorder writes headers into w's header map: keep ours aside and
	// take the backend's out, so none of them leaks into kassa's answer.
	mine := w.Header().Clone()
	buf := new(bytes.Buffer)
	rec := caddyhttp.NewResponseRecorder(w, buf, func(int, http.Header) bool { return true })
	err := next.ServeHTTP(rec, r2)
	theirs := w.Header().Clone()
	clear(w.Header())
	for k, v := range mine {
		w.Header()[k] = v
	}
	if err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, ErrTooLarge
	}
	status := rec.Status()
	if status == 0 {
		status = http.StatusOK
	}
	return &Captured{Status: status, Header: theirs, Body: buf.Bytes()}, nil
}

// WriteJSON sends body as a JSON answer.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	// The three values in one allocation (Header.Set makes one each, on
	// every answer of the hot path); each header gets its own one-element
	// slice of it, full to capacity, so a handler that later appends to
	// one of them copies rather than writes into the next.
	v := make([]string, 3)
	v[0], v[1], v[2] = "application/json", strconv.Itoa(len(body)), "no-store"
	h := w.Header()
	h["Content-Type"], h["Content-Length"], h["Cache-Control"] = v[0:1:1], v[1:2:2], v[2:3:3]
	w.WriteHeader(status)
	w.Write(body)
}

// JSONContentType reports whether a request's Content-Type can carry a
// JSON body. Gateways and browsers are not consistent (text/plain avoids a
// CORS preflight; some clients send none), so only types that announce
// something else — forms, multipart, XML — are refused.
func JSONContentType(ct string) bool {
	ct = strings.ToLower(strings.TrimSpace(ct))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	switch {
	case ct == "", ct == "application/json", ct == "text/plain", ct == "application/octet-stream":
		return true
	case strings.HasSuffix(ct, "+json"):
		return true
	}
	return false
}
