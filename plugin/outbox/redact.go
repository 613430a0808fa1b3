package outbox

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kassa-edge/kassa/plugin/store"
)

// minSecretLen is the shortest value treated as a credential; shorter ones
// ("1", "v1") would blank out ordinary words.
const minSecretLen = 8

// withheld replaces an answer that still holds a fragment of a credential
// after redaction (an echo that was re-encoded, cut or case-changed).
const withheld = "[answer withheld: it echoed a credential]"

// secretsOf returns what the Sender added to req beyond the stored
// delivery: header values (and their parts, e.g. the token of "Bearer x",
// the user and password of "Basic ...", the value of "token=x") and the
// URL's user info and new query values. The delivery ID and all-digit
// values (webhook-id, webhook-timestamp) are not secrets. Longest first,
// so a value that contains another is replaced whole.
func secretsOf(d *store.Delivery, req *http.Request) []string {
	var out []string
	add := func(v string) {
		if len(v) < minSecretLen || v == d.ID || strings.Trim(v, "0123456789") == "" {
			return
		}
		out = append(out, v)
	}
	addValue := func(v string) {
		add(v)
		if user, pass, ok := basic(v); ok {
			add(user)
			add(pass)
		}
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(" ,;=:\t", r) }) {
			add(f)
		}
	}
	for k, vs := range req.Header {
		stored := http.Header(d.Header).Values(k)
		for _, v := range vs {
			if !slices.Contains(stored, v) {
				addValue(v)
			}
		}
	}
	if u := req.URL.User; u != nil {
		add(u.Username())
		if pw, ok := u.Password(); ok {
			add(pw)
		}
	}
	if req.URL.RawQuery != "" {
		if orig, err := url.Parse(d.URL); err == nil && orig.RawQuery != req.URL.RawQuery {
			q := orig.Query()
			for k, vs := range req.URL.Query() {
				for _, v := range vs {
					if !slices.Contains(q[k], v) {
						addValue(v)
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(out)
}

// basic decodes the credentials of an "Authorization: Basic" value.
func basic(v string) (user, pass string, ok bool) {
	enc, ok := strings.CutPrefix(v, "Basic ")
	if !ok {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	return user, pass, ok
}

// redact replaces every echo of a secret in body, in any letter case and
// URL-escaped, by "[redacted]". If a run of minSecretLen letters and
// digits of a secret is still there once punctuation and case are ignored
// (a JSON-escaped, re-encoded or truncated echo), the whole answer is
// withheld instead.
func redact(body []byte, secrets []string) []byte {
	if len(secrets) == 0 || len(body) == 0 {
		return body
	}
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			body = replaceFold(body, form)
		}
	}
	nb := alnumLower([]byte(body))
	for _, s := range secrets {
		ns := alnumLower([]byte(s))
		for i := 0; i+minSecretLen <= len(ns); i++ {
			if bytes.Contains(nb, ns[i:i+minSecretLen]) {
				return []byte(withheld)
			}
		}
	}
	return body
}

// replaceFold replaces s in body, ignoring ASCII case.
func replaceFold(body []byte, s string) []byte {
	lb, ls := lowerASCII(body), lowerASCII([]byte(s))
	j := bytes.Index(lb, ls)
	if j < 0 {
		return body
	}
	var out []byte
	i := 0
	for j >= 0 {
		out = append(out, body[i:i+j]...)
		out = append(out, "[redacted]"...)
		i += j + len(ls)
		j = bytes.Index(lb[i:], ls)
	}
	return append(out, body[i:]...)
}

func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// alnumLower keeps only ASCII letters (lower-cased) and digits.
func alnumLower(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			out = append(out, c)
		case 'A' <= c && c <= 'Z':
			out = append(out, c+'a'-'A')
		}
	}
	return out
}
