package hardening_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

// hostile is one request that must be refused without effect.
type hostile struct {
	name    string
	method  string // default POST
	path    string
	header  http.Header
	body    []byte
	chunked bool   // no Content-Length
	raw     []byte // sent as is on a fresh connection (header limits)
	want    []int
	// shape of the answer: "dapi:<cause>/<code>" (prefix), "json:<rule>"
	// (Smarts/Voyado, a violation with that rule; "json:" any), or
	// "text:<substring>" (Caddy's or net/http's own plain answer).
	shape string
}

func repeat(s string, n int) []byte { return bytes.Repeat([]byte(s), n) }

// hostileCases are aimed at a node where session s of app a exists.
func hostileCases(a pneApp, s pneSession) []hostile {
	const init = "/pne/sale/initiate-sale"
	valid := string(a.initiateBody(1000))
	withAmount := func(v string) []byte {
		return []byte(fmt.Sprintf(`{"consumer":{"device":{"serialNumber":"SN-h"}},"transaction":{"amountCentis":%s,"currency":"EUR"},"session":{"accessToken":%q}}`, v, randHex(20)))
	}
	withSerial := func(raw string) []byte {
		return []byte(`{"consumer":{"device":{"serialNumber":"` + raw + `"}},"transaction":{"amountCentis":100,"currency":"EUR"},"session":{"accessToken":"` + randHex(20) + `"}}`)
	}
	big := append([]byte(`{"x":"`), append(repeat("a", 2<<20), '"', '}')...)
	onePlus := append([]byte(valid), repeat(" ", 1<<20-len(valid)+1)...)
	exactly := append([]byte(`{"x":1}`), repeat(" ", 1<<20-7)...)
	tooLarge := "dapi:INVALID_REQUEST/kassa.too_large"
	pneInvalid := "dapi:INVALID_REQUEST/kassa.invalid"
	h := func(kv ...string) http.Header { return hdr(kv...) }
	node := func(path string, body []byte, kv ...string) hostile {
		return hostile{path: "/smarts" + path, header: h(append([]string{"accessToken", nodeTokenA}, kv...)...), body: body}
	}
	barcode := []byte(spec.Lookup("smarts.product-search-barcode").Example)
	pay := []byte(spec.Lookup("voyado.secure-payment").Example)
	vkey := func(kv ...string) http.Header { return h(append([]string{"Api-Key", voyadoBackend}, kv...)...) }
	qty := func(v string) []byte {
		return []byte(`{"lines":[{"productKey":"p","quantity":` + v + `,"sellingPrice":10,"cost":5}]}`)
	}
	price := func(v string) []byte {
		return []byte(`{"lines":[{"productKey":"p","quantity":1,"sellingPrice":` + v + `}]}`)
	}
	host := "Host: {{HOST}}\r\n"

	cs := []hostile{
		// Sizes.
		{name: "pne/body 2MiB", path: init, body: big, want: []int{413}, shape: tooLarge},
		{name: "pne/body 2MiB chunked", path: init, body: big, chunked: true, want: []int{413}, shape: tooLarge},
		{name: "pne/body 1MiB+1", path: init, body: onePlus, want: []int{413}, shape: tooLarge},
		{name: "pne/body exactly 1MiB is read", path: init, body: exactly, want: []int{400}, shape: pneInvalid},
		{name: "pne/header 16KiB reaches kassa", path: init, header: h("X-Big", string(repeat("a", 16<<10))), body: []byte(`{}`), want: []int{400}, shape: pneInvalid},
		{name: "pne/header 64KiB", raw: []byte("POST /pne/sale/initiate-sale HTTP/1.1\r\n" + host + "X-Big: " + string(repeat("a", 64<<10)) + "\r\nContent-Length: 2\r\n\r\n{}"),
			want: []int{431}, shape: "text:Request Header Fields Too Large"},
		{name: "pne/5000 headers", raw: []byte("POST /pne/sale/initiate-sale HTTP/1.1\r\n" + host + strings.Repeat("X-H: v\r\n", 5000) + "Content-Length: 2\r\n\r\n{}"),
			want: []int{431}, shape: "text:Request Header Fields Too Large"},
		{name: "pne/request line 64KiB", raw: []byte("GET /pne/callback?x=" + string(repeat("a", 64<<10)) + " HTTP/1.1\r\n" + host + "\r\n"),
			want: []int{431, 414}, shape: "text:"},
		// Framing (request smuggling attempts): net/http decides before kassa runs.
		{name: "pne/two Content-Lengths", raw: []byte("POST /pne/sale/initiate-sale HTTP/1.1\r\n" + host + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"),
			want: []int{400}, shape: "text:Bad Request"},
		{name: "pne/Content-Length and chunked", raw: []byte("POST /pne/sale/initiate-sale HTTP/1.1\r\n" + host + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
			want: []int{400}, shape: pneInvalid},
		{name: "pne/Transfer-Encoding gzip", raw: []byte("POST /pne/sale/initiate-sale HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
			want: []int{501}, shape: "text:Unsupported transfer encoding"},
		{name: "pne/Content-Length -1", raw: []byte("POST /pne/sale/initiate-sale HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n"),
			want: []int{400}, shape: "text:Bad Request"},
		{name: "pne/string of 900KB", path: init, body: withSerial(string(repeat("s", 900<<10))), want: []int{400}, shape: pneInvalid},
		// Nesting.
		{name: "pne/10k [", path: init, body: repeat("[", 10000), want: []int{400}, shape: pneInvalid},
		{name: "pne/10k {\"a\":", path: init, body: append(repeat(`{"a":`, 10000), append([]byte("1"), repeat("}", 10000)...)...), want: []int{400}, shape: pneInvalid},
		{name: "pne/65 levels inside a field", path: init, body: []byte(`{"consumer":{"device":` + string(repeat("[", 65)) + string(repeat("]", 65)) + `}}`), want: []int{400}, shape: pneInvalid},
		// Encoding.
		{name: "pne/invalid UTF-8 in a value", path: init, body: withSerial("SN\xff\xfe"), want: []int{400}, shape: pneInvalid},
		{name: "pne/invalid UTF-8 in a key", path: init, body: []byte("{\"cons\xffumer\":{}}"), want: []int{400}, shape: pneInvalid},
		{name: "pne/overlong UTF-8", path: init, body: withSerial("a\xc0\xafb"), want: []int{400}, shape: pneInvalid},
		{name: "pne/UTF-16 body", path: init, body: []byte("\xff\xfe{\x00}\x00"), want: []int{400}, shape: pneInvalid},
		{name: "pne/BOM", path: init, body: append([]byte("\xef\xbb\xbf"), valid...), want: []int{400}, shape: pneInvalid},
		// Duplicates.
		{name: "pne/duplicate top-level key", path: init, body: []byte(valid[:len(valid)-1] + `,"session":{"accessToken":"` + randHex(20) + `"}}`), want: []int{400}, shape: pneInvalid},
		{name: "pne/duplicate amount", path: init, body: withAmount(`1,"amountCentis":100000`), want: []int{400}, shape: pneInvalid},
		{name: "pne/duplicate by escape", path: init, body: withAmount(`1,"amount\u0043entis":100000`), want: []int{400}, shape: pneInvalid},
		// Numbers.
		{name: "pne/amount 1e999", path: init, body: withAmount("1e999"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount 2^64", path: init, body: withAmount("18446744073709551616"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount 10^30", path: init, body: withAmount("1000000000000000000000000000000"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount 2^53+2", path: init, body: withAmount("9007199254740994"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount -1", path: init, body: withAmount("-1"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount 0", path: init, body: withAmount("0"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount -0", path: init, body: withAmount("-0"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount 1.5", path: init, body: withAmount("1.5"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount 1e2", path: init, body: withAmount("1e2"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount \"NaN\"", path: init, body: withAmount(`"NaN"`), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount NaN", path: init, body: withAmount("NaN"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount Infinity", path: init, body: withAmount("Infinity"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount 0x10", path: init, body: withAmount("0x10"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount 010", path: init, body: withAmount("010"), want: []int{400}, shape: pneInvalid},
		{name: "pne/amount \"1000\"", path: init, body: withAmount(`"1000"`), want: []int{400}, shape: pneInvalid},
		// Not an object.
		{name: "pne/empty body", path: init, body: []byte{}, want: []int{400}, shape: pneInvalid},
		{name: "pne/null", path: init, body: []byte("null"), want: []int{400}, shape: pneInvalid},
		{name: "pne/array", path: init, body: []byte("[]"), want: []int{400}, shape: pneInvalid},
		{name: "pne/two objects", path: init, body: []byte(valid + valid), want: []int{400}, shape: pneInvalid},
		{name: "pne/trailing garbage", path: init, body: []byte(valid + " x"), want: []int{400}, shape: pneInvalid},
		// Content types.
		{name: "pne/multipart", path: init, header: h("Content-Type", "multipart/form-data; boundary=x"), body: []byte(valid), want: []int{415}, shape: "dapi:INVALID_REQUEST/kassa.content_type"},
		{name: "pne/form", path: init, header: h("Content-Type", "application/x-www-form-urlencoded"), body: []byte(valid), want: []int{415}, shape: "dapi:INVALID_REQUEST/kassa.content_type"},
		{name: "pne/xml", path: init, header: h("Content-Type", "application/xml"), body: []byte(valid), want: []int{415}, shape: "dapi:INVALID_REQUEST/kassa.content_type"},
		{name: "pne/text/html", path: init, header: h("Content-Type", "text/html"), body: []byte(valid), want: []int{415}, shape: "dapi:INVALID_REQUEST/kassa.content_type"},
		// Methods.
		{name: "pne/GET initiate", method: "GET", path: init, want: []int{405}, shape: "dapi:INVALID_REQUEST/kassa.method"},
		{name: "pne/TRACE callback", method: "TRACE", path: "/pne/callback", want: []int{405}, shape: "dapi:INVALID_REQUEST/kassa.method"},
		// Paths.
		{name: "pne/traversal %2F leaves the mount", path: "/pne/sale/..%2F..%2Fetc%2Fpasswd/check", body: []byte(`{}`), want: []int{404}, shape: "text:not found"},
		{name: "pne/traversal .. leaves the mount", path: "/pne/../../etc/passwd", body: []byte(`{}`), want: []int{404}, shape: "text:not found"},
		{name: "pne/invoiceId %2e%2e", path: "/pne/sale/%2e%2e/check", body: []byte(`{}`), want: []int{404}, shape: "dapi:INVALID_REQUEST/kassa.not_found"},
		{name: "pne/invoiceId %252e%252e", path: "/pne/sale/%252e%252e/check", body: []byte(`{}`), want: []int{400}, shape: "dapi:INVALID_REQUEST/kassa.invoice_id"},
		{name: "pne/invoiceId with NUL", path: "/pne/sale/a%00b/check", body: []byte(`{}`), want: []int{400}, shape: "dapi:INVALID_REQUEST/kassa.invoice_id"},
		{name: "pne/invoiceId with CRLF", path: "/pne/sale/a%0d%0aSet-Cookie:x/check", body: []byte(`{}`), want: []int{400}, shape: "dapi:INVALID_REQUEST/kassa.invoice_id"},
		{name: "pne/invoiceId ..;", path: "/pne/sale/..;/check", body: []byte(`{}`), want: []int{400}, shape: "dapi:INVALID_REQUEST/kassa.invoice_id"},
		{name: "pne/invoiceId with a slash", path: "/pne/sale/a%2Fb/check", body: []byte(`{}`), want: []int{404}, shape: "dapi:INVALID_REQUEST/kassa.not_found"},
		{name: "pne/invoiceId of 129", path: "/pne/sale/" + string(repeat("i", 129)) + "/check", body: []byte(`{}`), want: []int{400}, shape: "dapi:INVALID_REQUEST/kassa.invoice_id"},
		{name: "pne/status endpointId traversal", path: "/pne/dapi/v1/sale/..%2f" + endpointID + "/" + s.Invoice + "/status", body: []byte(`{}`), want: []int{404}, shape: "dapi:INVALID_REQUEST/kassa.not_found"},
		{name: "pne/status other endpointId", path: "/pne/dapi/v1/sale/9999/" + s.Invoice + "/status", body: []byte(`{}`), want: []int{403}, shape: "dapi:FILTERED/kassa.endpoint"},
		{name: "pne/perform is never relayed", path: "/pne/dapi/v1/sale/" + endpointID + "/" + s.Invoice, body: []byte(`{}`), want: []int{404}, shape: "dapi:FILTERED/kassa.perform_not_relayed"},
		// Forged checks and callbacks.
		{name: "pne/check with the signature of another session", path: "/pne/sale/" + s.Invoice + "/check",
			body: a.checkBody(s.Nonce, dapiSign("x"), "tok-hostile-0000000001"), want: []int{403}, shape: "dapi:FILTERED/kassa.mismatch"},
		{name: "pne/check of an unknown invoice", path: "/pne/sale/no-such-invoice/check",
			body: a.checkBody(s.Nonce, s.Signature, "tok-hostile-0000000001"), want: []int{403}, shape: "dapi:FILTERED/kassa.unknown_invoice"},
		{name: "pne/check of another flow", path: "/pne/transfer/" + s.Invoice + "/check",
			body: a.checkBody(s.Nonce, s.Signature, "tok-hostile-0000000001"), want: []int{403}, shape: "dapi:FILTERED/kassa.unknown_invoice"},
		{name: "pne/callback forged control", method: "GET", path: "/pne/callback?status=approved&orderid=1&client_orderid=" + s.Invoice + "&control=" + strings.Repeat("0", 40),
			want: []int{403}, shape: "dapi:FILTERED/kassa.control"},
		{name: "pne/callback control of another order", method: "GET",
			path: "/pne/callback?status=approved&orderid=2&client_orderid=" + s.Invoice + "&control=" + classicControl("approved", "1", s.Invoice),
			want: []int{403}, shape: "dapi:FILTERED/kassa.control"},
		{name: "pne/callback status changed after signing", method: "GET",
			path: "/pne/callback?status=declined&orderid=1&client_orderid=" + s.Invoice + "&control=" + classicControl("approved", "1", s.Invoice),
			want: []int{403}, shape: "dapi:FILTERED/kassa.control"},
		{name: "pne/callback status given twice", method: "GET",
			path: "/pne/callback?status=approved&status=declined&orderid=1&client_orderid=" + s.Invoice + "&control=" + classicControl("approved", "1", s.Invoice),
			want: []int{400}, shape: pneInvalid},
		{name: "pne/callback without control", method: "GET", path: "/pne/callback?status=approved&orderid=1&client_orderid=" + s.Invoice,
			want: []int{400}, shape: pneInvalid},
		{name: "pne/callback bad percent-encoding", method: "GET", path: "/pne/callback?status=approved&orderid=%zz&client_orderid=x&control=" + strings.Repeat("0", 40),
			want: []int{400}, shape: pneInvalid},

		// Smarts.
		{name: "smarts/no node token", path: "/smarts/product/search/barcode", body: barcode, want: []int{401}, shape: "json:"},
		{name: "smarts/wrong node token", path: "/smarts/product/search/barcode", header: h("accessToken", "hd-node-token-A-4f1c2e9b7b"), body: barcode, want: []int{401}, shape: "json:"},
		{name: "smarts/token prefix", path: "/smarts/product/search/barcode", header: h("accessToken", nodeTokenA[:len(nodeTokenA)-1]), body: barcode, want: []int{401}, shape: "json:"},
		{name: "smarts/backend key as node token", path: "/smarts/product/search/barcode", header: h("accessToken", smartsBackend), body: barcode, want: []int{401}, shape: "json:"},
		{name: "smarts/access token as node token", path: "/smarts/product/search/barcode", header: h("accessToken", smartsAccess), body: barcode, want: []int{401}, shape: "json:"},
		{name: "smarts/node token in Authorization", path: "/smarts/product/search/barcode", header: h("Authorization", "Bearer "+nodeTokenA), body: barcode, want: []int{401}, shape: "json:"},
		{name: "smarts/no token on /node/version", method: "GET", path: "/smarts/node/version", want: []int{401}, shape: "json:"},
		func() hostile {
			c := node("/product/search/barcode", big)
			c.name, c.want, c.shape = "smarts/body 2MiB", []int{413}, "json:"
			return c
		}(),
		func() hostile {
			c := node("/product/search/barcode", big)
			c.name, c.want, c.shape, c.chunked = "smarts/body 2MiB chunked", []int{413}, "json:", true
			return c
		}(),
		func() hostile {
			c := node("/invoice", repeat("[", 10000))
			c.name, c.want, c.shape = "smarts/10k [ on /invoice", []int{400}, "json:json"
			return c
		}(),
		func() hostile {
			c := node("/product/search/barcode", []byte("{\"type\":\"SELF_SERVICE\",\"barcode\":\"\xff\",\"langCode\":\"ET\"}"))
			c.name, c.want, c.shape = "smarts/invalid UTF-8", []int{400}, "json:json"
			return c
		}(),
		func() hostile {
			c := node("/product/search/barcode", []byte(`{"type":"SELF_SERVICE","barcode":"1","barcode":"2","langCode":"ET"}`))
			c.name, c.want, c.shape = "smarts/duplicate key", []int{400}, "json:json"
			return c
		}(),
		func() hostile {
			c := node("/product/search/barcode", []byte(`{"type":"SELF_SERVICE","barcode":"1","langCode":"ET","institutionId":1e999}`))
			c.name, c.want, c.shape = "smarts/number for a string", []int{400}, "json:type"
			return c
		}(),
		func() hostile {
			c := node("/product/search/barcode", barcode, "Content-Type", "multipart/form-data; boundary=x")
			c.name, c.want, c.shape = "smarts/multipart", []int{415}, "json:"
			return c
		}(),
		func() hostile {
			c := node("/../../etc/passwd", barcode)
			c.name, c.want, c.shape = "smarts/traversal leaves the mount", []int{404}, "text:not found"
			return c
		}(),
		func() hostile {
			c := node("/product/%2e%2e/x", barcode)
			c.name, c.want, c.shape = "smarts/%2e%2e", []int{404}, "json:"
			return c
		}(),
		{name: "smarts/gateway without key", path: "/smarts/gateway/control/result", body: []byte(controlResult), want: []int{403}, shape: "json:"},
		{name: "smarts/gateway with a node token", path: "/smarts/gateway/control/result", header: h("accessToken", nodeTokenA), body: []byte(controlResult), want: []int{403}, shape: "json:"},
		{name: "smarts/gateway with the real access token", path: "/smarts/gateway/control/result", header: h("accessToken", smartsAccess), body: []byte(controlResult), want: []int{403}, shape: "json:"},
		{name: "smarts/gateway Idempotency-Key with a space", path: "/smarts/gateway/control/result", header: h("accessToken", smartsBackend, "Idempotency-Key", "a b"), body: []byte(controlResult), want: []int{400}, shape: "json:"},
		{name: "smarts/gateway Idempotency-Key of 256", path: "/smarts/gateway/control/result", header: h("accessToken", smartsBackend, "Idempotency-Key", string(repeat("k", 256))), body: []byte(controlResult), want: []int{400}, shape: "json:"},
		{name: "smarts/gateway two Idempotency-Keys", path: "/smarts/gateway/control/result", header: h("accessToken", smartsBackend, "Idempotency-Key", "k1", "Idempotency-Key", "k2"), body: []byte(controlResult), want: []int{400}, shape: "json:"},
		{name: "smarts/gateway path with NUL", path: "/smarts/gateway/a%00b", header: h("accessToken", smartsBackend), body: []byte(`{}`), want: []int{404}, shape: "json:"},
		{name: "smarts/gateway traversal leaves the mount", path: "/smarts/gateway/..%2f..%2f..%2fx", header: h("accessToken", smartsBackend), body: []byte(`{}`), want: []int{404}, shape: "text:not found"},
		{name: "smarts/gateway empty body", path: "/smarts/gateway/other/path", header: h("accessToken", smartsBackend), body: []byte{}, want: []int{400}, shape: "json:json"},
		{name: "smarts/gateway invalid result", path: "/smarts/gateway/control/result", header: h("accessToken", smartsBackend), body: []byte(`{"invoiceId":"x","status":"MAYBE"}`), want: []int{400}, shape: "json:"},

		// Voyado.
		{name: "voyado/payment without key", path: v2Payment + "?" + v2Query, body: pay, want: []int{403}, shape: "json:"},
		{name: "voyado/payment wrong key", path: v2Payment + "?" + v2Query, header: h("Api-Key", voyadoBackend+"x"), body: pay, want: []int{403}, shape: "json:"},
		{name: "voyado/payment key in other case", path: v2Payment + "?" + v2Query, header: h("Api-Key", strings.ToUpper(voyadoBackend)), body: pay, want: []int{403}, shape: "json:"},
		{name: "voyado/payment with the real Api-Key", path: v2Payment + "?" + v2Query, header: h("Api-Key", voyadoAPIKey), body: pay, want: []int{403}, shape: "json:"},
		{name: "voyado/payment two Api-Keys", path: v2Payment + "?" + v2Query, header: h("Api-Key", voyadoBackend, "Api-Key", voyadoBackend), body: pay, want: []int{403}, shape: "json:"},
		{name: "voyado/admin payment without key", path: "/api/admin/v4/notifications/payment?" + adminQuery, body: pay, want: []int{403}, shape: "json:"},
		{name: "voyado/body 2MiB", path: v2Payment + "?" + v2Query, header: vkey(), body: big, want: []int{413}, shape: "json:"},
		{name: "voyado/body 2MiB chunked", path: v2Payment + "?" + v2Query, header: vkey(), body: big, chunked: true, want: []int{413}, shape: "json:"},
		{name: "voyado/10k [", path: v2Payment + "?" + v2Query, header: vkey(), body: repeat("[", 10000), want: []int{400}, shape: "json:json"},
		{name: "voyado/invalid UTF-8", path: v2Payment + "?" + v2Query, header: vkey(), body: []byte("{\"lines\":[{\"productKey\":\"\xc3\x28\",\"quantity\":1,\"sellingPrice\":1}]}"), want: []int{400}, shape: "json:json"},
		{name: "voyado/duplicate key", path: v2Payment + "?" + v2Query, header: vkey(), body: []byte(`{"lines":[],"lines":[{"productKey":"p","quantity":1,"sellingPrice":1}]}`), want: []int{400}, shape: "json:json"},
		{name: "voyado/quantity 1e999", path: v2Payment + "?" + v2Query, header: vkey(), body: qty("1e999"), want: []int{400}, shape: "json:type"},
		{name: "voyado/quantity 10^30", path: v2Payment + "?" + v2Query, header: vkey(), body: qty("1000000000000000000000000000000"), want: []int{400}, shape: "json:range"},
		{name: "voyado/quantity 0", path: v2Payment + "?" + v2Query, header: vkey(), body: qty("0"), want: []int{400}, shape: "json:range"},
		{name: "voyado/quantity -1", path: v2Payment + "?" + v2Query, header: vkey(), body: qty("-1"), want: []int{400}, shape: "json:range"},
		{name: "voyado/quantity 1.5", path: v2Payment + "?" + v2Query, header: vkey(), body: qty("1.5"), want: []int{400}, shape: "json:type"},
		{name: "voyado/quantity \"NaN\"", path: v2Payment + "?" + v2Query, header: vkey(), body: qty(`"NaN"`), want: []int{400}, shape: "json:type"},
		{name: "voyado/sellingPrice 1e999", path: v2Payment + "?" + v2Query, header: vkey(), body: price("1e999"), want: []int{400}, shape: "json:range"},
		{name: "voyado/sellingPrice NaN", path: v2Payment + "?" + v2Query, header: vkey(), body: price("NaN"), want: []int{400}, shape: "json:json"},
		{name: "voyado/sellingPrice -1", path: v2Payment + "?" + v2Query, header: vkey(), body: price("-1"), want: []int{400}, shape: "json:range"},
		{name: "voyado/cost above sellingPrice", path: v2Payment + "?" + v2Query, header: vkey(), body: []byte(`{"lines":[{"productKey":"p","quantity":1,"sellingPrice":5,"cost":6}]}`), want: []int{400}, shape: "json:"},
		{name: "voyado/no lines", path: v2Payment + "?" + v2Query, header: vkey(), body: []byte(`{"lines":[]}`), want: []int{400}, shape: "json:"},
		{name: "voyado/query without market", path: v2Payment + "?esales.customerKey=c&esales.sessionKey=s", header: vkey(), body: pay, want: []int{400}, shape: "json:"},
		{name: "voyado/query market twice", path: v2Payment + "?esales.market=SE&esales.market=DE&esales.customerKey=c&esales.sessionKey=s", header: vkey(), body: pay, want: []int{400}, shape: "json:"},
		{name: "voyado/query bad percent-encoding", path: v2Payment + "?esales.market=%zz&esales.customerKey=c&esales.sessionKey=s", header: vkey(), body: pay, want: []int{400}, shape: "json:"},
		{name: "voyado/multipart", path: v2Payment + "?" + v2Query, header: vkey("Content-Type", "multipart/form-data; boundary=x"), body: pay, want: []int{415}, shape: "json:"},
		{name: "voyado/Idempotency-Key with CTL", path: v2Payment + "?" + v2Query, header: vkey("Idempotency-Key", "a\tb"), body: pay, want: []int{400}, shape: "json:"},
		{name: "voyado/preflight from another origin", method: "OPTIONS", path: "/api/v2/notifications/click?" + v2Query, header: h("Origin", "https://evil.example", "Access-Control-Request-Method", "POST"), want: []int{403}, shape: "json:"},
		{name: "voyado/preflight on a payment path", method: "OPTIONS", path: v2Payment + "?" + v2Query, header: h("Origin", "https://shop.example"), want: []int{403}, shape: "json:"},
		{name: "voyado/browser notification invalid", path: "/api/v2/notifications/click?" + v2Query, body: []byte(`{"ticket":1}`), want: []int{400}, shape: "json:"},
		{name: "voyado/unknown path", path: "/api/v2/notifications/%2e%2e/payment?" + v2Query, header: vkey(), body: pay, want: []int{404}, shape: "text:no such Voyado path"},
		{name: "voyado/GET payment", method: "GET", path: v2Payment + "?" + v2Query, header: vkey(), want: []int{405}, shape: "json:"},
	}
	return cs
}

// send runs one hostile case.
func (n *node) send(c hostile) resp {
	if c.raw != nil {
		return rawRequest(n.in.Port, bytes.ReplaceAll(c.raw, []byte("{{HOST}}"), []byte(fmt.Sprintf("127.0.0.1:%d", n.in.Port))))
	}
	method := c.method
	if method == "" {
		method = "POST"
	}
	if !c.chunked {
		return n.do(method, c.path, c.header, c.body)
	}
	req, _ := http.NewRequest(method, n.URL()+c.path, io.MultiReader(bytes.NewReader(c.body)))
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	start := time.Now()
	res, err := n.hc.Do(req)
	if err != nil {
		return resp{Err: err}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	n.scanBytes(b, c.name)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b, Dur: time.Since(start)}
}

// rawRequest writes raw on a new connection and reads one answer.
func rawRequest(port int, raw []byte) resp {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return resp{Err: err}
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	go c.Write(raw) // the server may answer before reading everything
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return resp{Err: err}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// checkHostile checks one answer.
func checkHostile(t *testing.T, c hostile, r resp) {
	t.Helper()
	if r.Err != nil {
		t.Errorf("%s: %v", c.name, r.Err)
		return
	}
	okStatus := false
	for _, s := range c.want {
		okStatus = okStatus || r.Status == s
	}
	if !okStatus {
		t.Errorf("%s: status %d, want %v: %s", c.name, r.Status, c.want, trunc(string(r.Body), 300))
		return
	}
	kind, want, _ := strings.Cut(c.shape, ":")
	switch kind {
	case "dapi":
		code, err := dapiError(r)
		if err != nil {
			t.Errorf("%s: %v: %s", c.name, err, trunc(string(r.Body), 300))
		} else if !strings.HasPrefix(code, want) {
			t.Errorf("%s: error %s, want %s: %s", c.name, code, want, trunc(string(r.Body), 300))
		}
	case "json":
		rules, err := testenv.CheckJSONError(r.Header, r.Body)
		if err != nil {
			t.Errorf("%s: %v: %s", c.name, err, trunc(string(r.Body), 300))
		} else if want != "" && !strings.Contains(" "+strings.Join(rules, " ")+" ", " "+want+" ") {
			t.Errorf("%s: violations %v, want one with rule %s: %s", c.name, rules, want, trunc(string(r.Body), 300))
		}
	case "text":
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("%s: body %q, want it to contain %q", c.name, trunc(string(r.Body), 200), want)
		}
	}
}

func TestHostileInputsBolt(t *testing.T) {
	t.Parallel()
	runHostile(t, config{Engine: "wasm"})
}

func TestHostileInputsPostgres(t *testing.T) {
	t.Parallel()
	runHostile(t, config{Store: "postgres", DSN: pgtest.Start(t)})
}

// runHostile sends every hostile case to a real Caddy (both stores, both
// engines between the two variants) and checks for each: the expected
// status and error shape, no party reached, the process alive, and the
// store unchanged (PostgreSQL: after each case; bolt: the whole batch, as
// the file is locked while Caddy runs).
func runHostile(t *testing.T, cfg config) {
	ps := newParties(t)
	n := start(t, cfg, ps)
	a := newPneApp()
	s := n.mustInitiate(a, "inv-hostile-"+randHex(4))

	var st store.Store
	var before map[string]string
	boltPath := n.in.Dir + "/kassa.db"
	if cfg.Store == "postgres" {
		st = openPostgres(t, cfg.DSN)
	} else {
		n.in.Stop()
		b := openBolt(t, boltPath)
		before = storetest.Snapshot(t, b)
		b.Close()
		n.in.Restart()
	}
	cases := hostileCases(a, s)
	reached := func() [4]int64 {
		return [4]int64{ps.backend.count(), ps.gateway.count(), ps.smartsGW.count(), ps.cluster.count()}
	}
	start := time.Now()
	for _, c := range cases {
		var pre map[string]string
		if st != nil {
			pre = storetest.Snapshot(t, st)
		}
		r0 := reached()
		r := n.send(c)
		checkHostile(t, c, r)
		if got := reached(); got != r0 {
			t.Errorf("%s: a party was reached (backend, gateway, smarts gateway, cluster: %v -> %v)", c.name, r0, got)
		}
		if !n.alive() {
			t.Fatalf("%s: caddy died", c.name)
		}
		if st != nil {
			if d := storetest.Diff(pre, storetest.Snapshot(t, st)); d != "" {
				t.Errorf("%s: the store changed:\n%s", c.name, d)
			}
		}
	}
	t.Logf("%d hostile requests in %s", len(cases), time.Since(start).Round(time.Millisecond))
	n.mustBeAlive("the hostile inputs")
	if st == nil {
		n.in.Stop()
		b := openBolt(t, boltPath)
		defer b.Close()
		if d := storetest.Diff(before, storetest.Snapshot(t, b)); d != "" {
			t.Errorf("the hostile inputs changed the store:\n%s", d)
		}
	}
}
