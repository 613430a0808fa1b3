package payneteasy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/tidwall/gjson"
	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/plugin/httpx"
	"github.com/kassa-edge/kassa/plugin/internal/provider"
	"github.com/kassa-edge/kassa/plugin/store"
)

// errConflict ends an Update whose outcome was decided inside it.
var errConflict = errors.New("conflict")

// initiate validates the app's request, asks the merchant's backend (the
// next handler) to approve it, then signs and stores the session.
func (p *Payneteasy) initiate(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, flow string) error {
	op := "initiate-" + flow
	body, ok := p.readValid(w, r, op, "payneteasy.initiate-"+flow, "")
	if !ok {
		return nil
	}
	root := gjson.ParseBytes(body)
	serial := root.Get("consumer.device.serialNumber").Str
	accessToken := root.Get("session.accessToken").Str
	currency := root.Get("transaction.currency").Str
	amount := root.Get("transaction.amountCentis").Int()
	invoiceID := ""
	consumer := consumerOf(accessToken)

	// The backend approves: any 2xx. It may set the invoiceId and is the
	// authority on the amount and currency.
	ans, err := httpx.Capture(next, w, r, body, p.limit)
	if err != nil {
		p.logger.Error("merchant backend failed", zap.Error(err))
		p.fail(w, r, op, http.StatusBadGateway, "SERVER_FAILED", "kassa.backend", "the merchant backend did not answer", "")
		return nil
	}
	if ans.Status < 200 || ans.Status > 299 {
		msg := "rejected by the merchant"
		if m := gjson.GetBytes(ans.Body, "message"); m.Type == gjson.String && m.Str != "" && len(m.Str) <= 200 {
			msg = m.Str
		}
		p.fail(w, r, op, ans.Status, "FILTERED", "kassa.rejected", msg, "")
		return nil
	}
	if isJSONObject(ans.Body) {
		// Validated by the core's strict scan first: duplicate keys in the
		// backend's answer must not make kassa sign one amount and the
		// backend mean another.
		res, err := p.eng.Validate(r.Context(), "payneteasy.error", ans.Body)
		if err != nil {
			p.engineFailed(w, r, op, err, "")
			return nil
		}
		for _, v := range res.Violations {
			if v.Rule == spec.RuleJSON {
				p.fail(w, r, op, http.StatusBadGateway, "SERVER_FAILED", "kassa.backend_answer", "the merchant backend answered invalid JSON", "")
				return nil
			}
		}
		b := gjson.ParseBytes(ans.Body)
		if v := b.Get("invoiceId"); v.Exists() {
			if v.Type != gjson.String || !safeID(v.Str) {
				p.fail(w, r, op, http.StatusBadGateway, "SERVER_FAILED", "kassa.backend_answer", "the merchant backend's invoiceId must be 1-128 characters of A-Z a-z 0-9 . _ -", "")
				return nil
			}
			invoiceID = v.Str
		}
		if v := b.Get("transaction.amountCentis"); v.Exists() && flow != "verification" {
			n, err := strconv.ParseInt(v.Raw, 10, 64)
			if v.Type != gjson.Number || err != nil || n < 1 {
				p.fail(w, r, op, http.StatusBadGateway, "SERVER_FAILED", "kassa.backend_answer", "the merchant backend's transaction.amountCentis must be a positive integer", "")
				return nil
			}
			amount = n
		}
		if v := b.Get("transaction.currency"); v.Exists() {
			if v.Type != gjson.String || !spec.Currency.Match(v.Str) {
				p.fail(w, r, op, http.StatusBadGateway, "SERVER_FAILED", "kassa.backend_answer", "the merchant backend's transaction.currency must be 3 upper-case letters", "")
				return nil
			}
			currency = v.Str
		}
		if v := b.Get("consumer.id"); v.Type == gjson.String && v.Str != "" {
			consumer = "m:" + v.Str
		}
	}
	if invoiceID == "" {
		invoiceID = provider.RandomHex(16)
	}
	endpointID := p.endpointFor(flow)
	nonce := provider.RandomHex(32) // 64 characters, as Payneteasy's reference server
	var v sign.Values
	v[sign.AccessToken], v[sign.SerialNumber], v[sign.EndpointID] = accessToken, serial, endpointID
	v[sign.Nonce], v[sign.InvoiceID], v[sign.Currency] = nonce, invoiceID, currency
	if flow != "verification" {
		v[sign.AmountCentis] = strconv.FormatInt(amount, 10)
	}
	sig, err := p.sign(r.Context(), "dapi.initiate-"+flow, &v)
	if err != nil {
		p.engineFailed(w, r, op, err, invoiceID)
		return nil
	}
	now := time.Now()
	s := &session{
		Flow: flow, InvoiceID: invoiceID, EndpointID: endpointID, Serial: serial,
		TokenDigest: digest(accessToken), Consumer: consumer, Nonce: nonce, Signature: sig,
		Currency: currency, State: stateInitiated, Created: now, Expires: now.Add(time.Duration(p.SessionTTL)),
	}
	if flow != "verification" {
		s.Amount = amount
	}
	err = p.st.Update(r.Context(), func(tx store.Tx) error {
		created, err := tx.Insert(store.BucketSessions, sessionKey(flow, invoiceID), s.marshal(), s.Expires.Add(24*time.Hour))
		if err != nil {
			return err
		}
		if !created {
			return errConflict
		}
		return nil
	})
	if errors.Is(err, errConflict) {
		p.fail(w, r, op, http.StatusConflict, "FILTERED", "kassa.invoice_exists", "this invoiceId was already initiated", invoiceID)
		return nil
	}
	if err != nil {
		p.storeFailed(w, r, op, err, invoiceID)
		return nil
	}
	out := map[string]any{"endpointId": endpointID, "invoiceId": invoiceID, "session": map[string]string{"nonce": nonce, "signature": sig}}
	b, _ := json.Marshal(out)
	p.count(op, "ok")
	httpx.WriteJSON(w, http.StatusOK, b)
	return nil
}

// check confirms to the gateway what the app sent, with checkSignature.
func (p *Payneteasy) check(w http.ResponseWriter, r *http.Request, flow, invoiceID string) error {
	names := flows[flow]
	op := names.check
	if !safeID(invoiceID) {
		p.fail(w, r, op, http.StatusBadRequest, "INVALID_REQUEST", "kassa.invoice_id", "invalid invoiceId in the path", "")
		return nil
	}
	ix := bodyIndexes.Get().(*bodyIndex)
	body, tape, ok := p.readIndexed(w, r, op, names.checkEndpoint, invoiceID, ix)
	if !ok {
		bodyIndexes.Put(ix)
		return nil
	}
	c := &checkRequest{p: p, key: sessionKey(flow, invoiceID)}
	if tape != nil {
		c.readIndexed(body, tape)
	} else {
		c.readFields(body)
	}
	bodyIndexes.Put(ix)                                   // the fields alias the body, not the index
	err := store.ViewCached(r.Context(), p.st, c.examine) // examine may run twice
	if err == nil && c.write {
		// Check again under the write lock: another instance may have
		// recorded a token in between.
		err = p.st.Update(r.Context(), c.update)
	}
	if errors.Is(err, errConflict) {
		p.fail(w, r, op, http.StatusForbidden, "FILTERED", c.failCode, c.failMsg, invoiceID)
		return nil
	}
	if errors.Is(err, errUnknownCard) {
		p.fail(w, r, op, http.StatusForbidden, "FILTERED", "kassa.unknown_card", "unknown clientCardId for this consumer", invoiceID)
		return nil
	}
	if err != nil {
		p.storeFailed(w, r, op, err, invoiceID)
		return nil
	}
	s, v := c.s, &c.vals
	v[sign.SerialNumber], v[sign.Nonce], v[sign.EndpointID], v[sign.InvoiceID] = s.Serial, s.Nonce, s.EndpointID, s.InvoiceID
	v[sign.ServerCardID], v[sign.DestinationServerCardID] = c.serverCard, c.destServerCard
	sig, err := p.sign(r.Context(), names.checkSign, v)
	if err != nil {
		p.engineFailed(w, r, op, err, invoiceID)
		return nil
	}
	// The answer is built by appending: this is the hot path.
	b := append(make([]byte, 0, 256), `{"invoiceId":`...)
	b = core.AppendString(b, s.InvoiceID)
	b = append(b, `,"session":{"checkSignature":`...)
	b = core.AppendString(b, sig)
	b = append(b, `,"nonce":`...)
	b = core.AppendString(b, s.Nonce)
	b = append(b, `,"token":`...)
	b = core.AppendString(b, c.token)
	b = append(b, '}')
	if c.serverCard != "" {
		b = append(b, `,"sourceOfFunds":{"reference":{"serverCardId":`...)
		b = core.AppendString(b, c.serverCard)
		b = append(b, "}}"...)
	}
	if c.destServerCard != "" {
		b = append(b, `,"destinationOfFunds":{"reference":{"serverCardId":`...)
		b = core.AppendString(b, c.destServerCard)
		b = append(b, "}}"...)
	}
	b = append(b, '}')
	p.count(op, "ok")
	httpx.WriteJSON(w, http.StatusOK, b)
	return nil
}

// checkRequest is one check: the request's fields and what examining the
// stored session found. The store's callbacks are its methods, so a check
// allocates this one value instead of a closure's worth of variables.
type checkRequest struct {
	p   *Payneteasy
	key string // the session's store key

	// The request.
	serial, accessToken, nonce, signature, token string
	clientCard, destClientCard                   string

	// What examine found.
	s                          *session
	serverCard, destServerCard string
	write                      bool // the session token must be recorded
	failCode, failMsg          string

	vals sign.Values // the answer's signature's (here: one allocation less)
}

// readFields reads the request's fields, in one pass over the top level of
// the (validated, duplicate-free) body: each gjson path read on its own
// would scan from the start, and an absent one to the end. The fields are
// substrings of the body, read as a string without a copy: nothing writes
// to a request body once read.
func (c *checkRequest) readFields(body []byte) {
	if len(body) == 0 {
		return
	}
	gjson.Parse(unsafe.String(&body[0], len(body))).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "consumer":
			c.serial = v.Get("device.serialNumber").Str
		case "session":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "accessToken":
					c.accessToken = v.Str
				case "nonce":
					c.nonce = v.Str
				case "signature":
					c.signature = v.Str
				case "token":
					c.token = v.Str
				}
				return true
			})
		case "sourceOfFunds":
			c.clientCard = v.Get("reference.clientCardId").Str
		case "destinationOfFunds":
			c.destClientCard = v.Get("reference.clientCardId").Str
		}
		return true
	})
}

// readIndexed is readFields over the body's index: the same fields, read
// as gjson reads them (Result.Str: a string's unescaped value, "" for any
// other value), without scanning the body again.
func (c *checkRequest) readIndexed(body []byte, tape []jsonscan.Entry) {
	b := unsafe.String(&body[0], len(body))
	if b[tape[0].Val] != '{' {
		return
	}
	for m := 1; m < int(tape[0].Next); m = int(tape[m].Next) {
		switch jsonscan.KeyOf(b, &tape[m]) {
		case "consumer":
			c.serial = text(b, tape, jsonscan.Child(b, tape, jsonscan.Child(b, tape, m, "device"), "serialNumber"))
		case "session":
			if b[tape[m].Val] != '{' {
				continue
			}
			for f := m + 1; f < int(tape[m].Next); f = int(tape[f].Next) {
				switch jsonscan.KeyOf(b, &tape[f]) {
				case "accessToken":
					c.accessToken = text(b, tape, f)
				case "nonce":
					c.nonce = text(b, tape, f)
				case "signature":
					c.signature = text(b, tape, f)
				case "token":
					c.token = text(b, tape, f)
				}
			}
		case "sourceOfFunds":
			c.clientCard = text(b, tape, jsonscan.Child(b, tape, jsonscan.Child(b, tape, m, "reference"), "clientCardId"))
		case "destinationOfFunds":
			c.destClientCard = text(b, tape, jsonscan.Child(b, tape, jsonscan.Child(b, tape, m, "reference"), "clientCardId"))
		}
	}
}

// text is gjson's Result.Str of entry i of b's index: a string's
// unescaped value (aliasing b when it has no escapes), "" for any other
// value or none (i is -1). Escaped strings are rare and unescaped by gjson,
// so that both readers agree on every string.
func text(b string, tape []jsonscan.Entry, i int) string {
	if i < 0 {
		return ""
	}
	e := &tape[i]
	if b[e.Val] != '"' {
		return ""
	}
	if jsonscan.Plain(e.Flags)&jsonscan.Escaped == 0 {
		return b[e.Val+1 : e.End-1]
	}
	return gjson.Parse(b[e.Val:e.End]).Str
}

func (c *checkRequest) refuse(code, msg string) error {
	c.failCode, c.failMsg = code, msg
	return errConflict
}

// examine checks the request against the stored session and maps the card
// references. It sets c.write when the session must be written: only the
// first check of a session token writes; a repeated identical check is
// answered from a read-only transaction.
func (c *checkRequest) examine(tx store.Tx) error {
	raw, err := store.Peek(tx, store.BucketSessions, c.key) // the memo keeps a copy if it keeps it
	if errors.Is(err, store.ErrNotFound) {
		return c.refuse("kassa.unknown_invoice", "unknown invoiceId")
	}
	if err != nil {
		return err
	}
	s, err := c.p.memo.load(c.key, raw)
	if err != nil {
		return err
	}
	c.s = s
	if time.Now().After(s.Expires) {
		return c.refuse("kassa.expired", "the session has expired")
	}
	// Compare everything, in constant time, before deciding: no early
	// exit tells an attacker which field was right.
	match := eq(s.Serial, c.serial)
	match = eqDigest(s.TokenDigest, c.accessToken) && match
	match = eq(s.Nonce, c.nonce) && match
	match = eqFold(s.Signature, c.signature) && match
	if !match {
		return c.refuse("kassa.mismatch", "the request does not match the initiated session")
	}
	if s.Token != "" && s.Token != c.token {
		return c.refuse("kassa.token_mismatch", "this invoice was already checked with another session token")
	}
	if s.Token == "" {
		// A gateway session token belongs to one transaction: the
		// notification finds the invoice by it.
		owner, err := store.Peek(tx, store.BucketTokens, c.token)
		if err == nil && string(owner) != c.key {
			return c.refuse("kassa.token_in_use", "this session token belongs to another transaction")
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if c.clientCard != "" {
		if c.serverCard, err = c.p.serverCardFor(tx, s.Consumer, c.clientCard); err != nil {
			return err
		}
	}
	if c.destClientCard != "" {
		if c.destServerCard, err = c.p.serverCardFor(tx, s.Consumer, c.destClientCard); err != nil {
			return err
		}
	}
	c.write = s.Token != c.token
	return nil
}

// update examines the session again in a write transaction and, if this is
// its first check, records the session token.
func (c *checkRequest) update(tx store.Tx) error {
	if err := c.examine(tx); err != nil || !c.write {
		return err
	}
	s := *c.s // the memo's: not to be modified
	s.Token, s.State = c.token, stateChecked
	if err := tx.Put(store.BucketSessions, c.key, s.marshal(), s.Expires.Add(24*time.Hour)); err != nil {
		return err
	}
	return tx.Put(store.BucketTokens, c.token, []byte(c.key), s.Expires.Add(24*time.Hour))
}

var errUnknownCard = errors.New("unknown card")

func (p *Payneteasy) serverCardFor(tx store.Tx, consumer, clientCardID string) (string, error) {
	raw, err := tx.Get(store.BucketCards, cardKey(consumer, clientCardID))
	if errors.Is(err, store.ErrNotFound) {
		return "", errUnknownCard
	}
	if err != nil {
		return "", err
	}
	var c card
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", err
	}
	return c.ServerCardID, nil
}

// notification maps the gateway's serverCardId to kassa's own clientCardId.
func (p *Payneteasy) notification(w http.ResponseWriter, r *http.Request, flow string) error {
	op := flow + "-notification"
	body, ok := p.readValid(w, r, op, "payneteasy."+flow+"-notification", "")
	if !ok {
		return nil
	}
	root := gjson.ParseBytes(body)
	token := root.Get("session.token").Str
	serial := root.Get("consumer.device.serialNumber").Str
	accessToken := root.Get("session.accessToken").Str
	serverCard := root.Get("sourceCard.reference.serverCardId").Str
	bin := root.Get("sourceCard.bin").Int()
	uniqueRef := root.Get("sourceCard.reference.uniqueReferenceCardId").Int()

	var s *session
	refuse := func(code, msg string) error {
		p.fail(w, r, op, http.StatusForbidden, "FILTERED", code, msg, "")
		return errConflict
	}
	err := p.st.Update(r.Context(), func(tx store.Tx) error {
		key, err := tx.Get(store.BucketTokens, token)
		if errors.Is(err, store.ErrNotFound) {
			return refuse("kassa.unknown_token", "unknown session token")
		}
		if err != nil {
			return err
		}
		raw, err := tx.Get(store.BucketSessions, string(key))
		if errors.Is(err, store.ErrNotFound) {
			return refuse("kassa.unknown_token", "unknown session token")
		}
		if err != nil {
			return err
		}
		if s, err = loadSession(raw); err != nil {
			return err
		}
		if s.Flow != flow {
			return refuse("kassa.flow_mismatch", "the session token belongs to another flow")
		}
		match := eq(s.Serial, serial)
		match = eqDigest(s.TokenDigest, accessToken) && match
		if !match {
			return refuse("kassa.mismatch", "the request does not match the session")
		}
		if serverCard == "" {
			return nil
		}
		clientCard := ""
		if existing, err := tx.Get(store.BucketCards, serverKey(s.Consumer, serverCard)); err == nil {
			clientCard = string(existing)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if clientCard == "" {
			clientCard = provider.RandomHex(16)
			c := card{ClientCardID: clientCard, ServerCardID: serverCard, Consumer: s.Consumer, Bin: bin,
				UniqueReferenceCardID: uniqueRef, Created: time.Now()}
			cb, _ := json.Marshal(c)
			if err := tx.Put(store.BucketCards, cardKey(s.Consumer, clientCard), cb, time.Time{}); err != nil {
				return err
			}
			if err := tx.Put(store.BucketCards, serverKey(s.Consumer, serverCard), []byte(clientCard), time.Time{}); err != nil {
				return err
			}
		}
		// The event id is the idempotency key: a repeated notification
		// enqueues nothing new.
		return p.enqueue(tx, "card.mapped", "card.mapped:"+flow+":"+s.InvoiceID+":"+clientCard, map[string]any{
			"flow": flow, "invoiceId": s.InvoiceID, "clientCardId": clientCard, "consumer": s.Consumer,
			"bin": bin, "uniqueReferenceCardId": uniqueRef,
		})
	})
	if errors.Is(err, errConflict) {
		return nil
	}
	if err != nil {
		p.storeFailed(w, r, op, err, "")
		return nil
	}
	p.app.Notify()
	var v sign.Values
	v[sign.Nonce], v[sign.EndpointID], v[sign.InvoiceID] = s.Nonce, s.EndpointID, s.InvoiceID
	sig, err := p.sign(r.Context(), "dapi.notification", &v)
	if err != nil {
		p.engineFailed(w, r, op, err, s.InvoiceID)
		return nil
	}
	b, _ := json.Marshal(map[string]any{
		"invoiceId": s.InvoiceID,
		"session":   map[string]string{"checkSignature": sig, "nonce": s.Nonce, "token": token},
	})
	p.count(op, "ok")
	httpx.WriteJSON(w, http.StatusOK, b)
	return nil
}

// enqueue adds an event for the merchant, if events are configured.
func (p *Payneteasy) enqueue(tx store.Tx, typ, id string, data map[string]any) error {
	if p.Events == "" {
		return nil
	}
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{"id": id, "type": typ, "created": now.Format(time.RFC3339), "data": data})
	_, err := tx.Enqueue(&store.Delivery{
		ID: id, Target: p.target, Method: http.MethodPost, URL: p.Events,
		Header: map[string][]string{"Content-Type": {"application/json"}},
		Body:   body, CreatedAt: now, NextAt: now,
	})
	return err
}

// status relays the app's status poll to the gateway and validates the
// answer before the app sees it.
func (p *Payneteasy) status(w http.ResponseWriter, r *http.Request, flow, endpointID, invoiceID string) error {
	op := flow + "-status"
	if !safeID(invoiceID) || !safeID(endpointID) {
		p.fail(w, r, op, http.StatusBadRequest, "INVALID_REQUEST", "kassa.path", "invalid endpointId or invoiceId in the path", "")
		return nil
	}
	if endpointID != p.endpointFor(flow) {
		p.fail(w, r, op, http.StatusForbidden, "FILTERED", "kassa.endpoint", "unknown endpointId", invoiceID)
		return nil
	}
	body, ok := p.readValid(w, r, op, "payneteasy."+flow+"-status", invoiceID)
	if !ok {
		return nil
	}
	u := p.gateway.JoinPath("dapi", "v1", flow, endpointID, invoiceID, "status")
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		p.fail(w, r, op, http.StatusInternalServerError, "SERVER_FAILED", "kassa.relay", "internal error", invoiceID)
		return nil
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		p.logger.Warn("gateway unreachable", zap.String("gateway", p.gateway.Host), zap.Error(err))
		code := http.StatusBadGateway
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
			code = http.StatusGatewayTimeout
		}
		p.fail(w, r, op, code, "SERVER_UNAVAILABLE", "kassa.gateway_unreachable", "the gateway did not answer", invoiceID)
		return nil
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, p.limit+1))
	if err != nil || int64(len(ans)) > p.limit {
		p.fail(w, r, op, http.StatusBadGateway, "SERVER_FAILED", "kassa.gateway_answer", "the gateway's answer could not be read", invoiceID)
		return nil
	}
	endpoint := "payneteasy." + flow + "-status.response"
	isErr := gjson.GetBytes(ans, "error").IsObject()
	if isErr || resp.StatusCode >= 300 {
		endpoint = "payneteasy.error"
	}
	res, err := p.eng.Validate(r.Context(), endpoint, ans)
	if err != nil {
		p.engineFailed(w, r, op, err, invoiceID)
		return nil
	}
	if !res.Valid {
		p.logger.Warn("gateway answer failed validation", zap.String("endpoint", endpoint), zap.Int("status", resp.StatusCode),
			zap.String("violations", provider.ViolationText(res.Violations)))
		p.fail(w, r, op, http.StatusBadGateway, "SERVER_FAILED", "kassa.gateway_answer", "the gateway's answer is not valid: "+provider.ViolationText(res.Violations), invoiceID)
		return nil
	}
	if !isErr && resp.StatusCode < 300 {
		p.recordStatus(r.Context(), flow, invoiceID, ans)
	}
	p.count(op, outcomeOf(resp.StatusCode))
	httpx.WriteJSON(w, resp.StatusCode, ans)
	return nil
}

// recordStatus stores a state change seen through the relay and tells the
// merchant. A failure is logged, not returned: the app still gets its
// answer, and the classic callback remains the authority on final states.
func (p *Payneteasy) recordStatus(ctx context.Context, flow, invoiceID string, ans []byte) {
	a := gjson.ParseBytes(ans)
	state, bank := a.Get("state").Str, a.Get("bankOrderId").Str
	key := sessionKey(flow, invoiceID)
	var s *session
	// stale reports whether the stored session lacks this state. The
	// classic callback is the authority on final states: a later poll does
	// not override one.
	stale := func(tx store.Tx) (bool, error) {
		raw, err := store.Peek(tx, store.BucketSessions, key) // the memo copies what it keeps
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if s, err = p.memo.load(key, raw); err != nil {
			return false, err
		}
		return s.State != state && !s.Final, nil
	}
	// An app polls every few seconds and most polls repeat the stored
	// state: those are answered from a read-only transaction (a write
	// transaction syncs the file even when it changes nothing).
	changed := false
	err := store.ViewCached(ctx, p.st, func(tx store.Tx) (err error) {
		changed, err = stale(tx) // may run twice: it sets, never adds
		return err
	})
	if err == nil && changed {
		err = p.st.Update(ctx, func(tx store.Tx) (err error) {
			if changed, err = stale(tx); err != nil || !changed {
				return err
			}
			ns := *s // the memo's: not to be modified
			ns.State = state
			if bank != "" {
				ns.BankOrderID = bank
			}
			if err := tx.Put(store.BucketSessions, key, ns.marshal(), ns.Expires.Add(24*time.Hour)); err != nil {
				return err
			}
			return p.enqueue(tx, "status.changed", "status.changed:"+flow+":"+invoiceID+":"+state, map[string]any{
				"flow": flow, "invoiceId": invoiceID, "state": state, "bankOrderId": bank,
			})
		})
	}
	if err != nil {
		p.logger.Warn("could not record status", zap.String("invoiceId", invoiceID), zap.Error(err))
	}
	if err == nil && changed {
		p.app.Notify()
	}
}

// callback takes the classic final-status callback: verify control, store
// durably (deduplicated), then answer 200.
func (p *Payneteasy) callback(w http.ResponseWriter, r *http.Request) error {
	const op = "callback"
	raw := r.URL.RawQuery
	res, err := p.eng.ValidateQuery(r.Context(), "payneteasy.callback", raw)
	if err != nil {
		p.engineFailed(w, r, op, err, "")
		return nil
	}
	if !res.Valid {
		p.fail(w, r, op, http.StatusBadRequest, "INVALID_REQUEST", "kassa.invalid", provider.ViolationText(res.Violations), "")
		return nil
	}
	q := r.URL.Query()
	status, orderID, clientOrderID := q.Get("status"), q.Get("orderid"), q.Get("client_orderid")
	var v sign.Values
	v[sign.Status], v[sign.OrderID], v[sign.ClientOrderID] = status, orderID, clientOrderID
	sig, err := p.sign(r.Context(), "classic.callback", &v)
	if err != nil {
		p.engineFailed(w, r, op, err, "")
		return nil
	}
	if !eqFold(sig, q.Get("control")) {
		p.fail(w, r, op, http.StatusForbidden, "FILTERED", "kassa.control", "control does not match", "")
		return nil
	}
	typ := q.Get("type")
	dedup := status + "|" + typ + "|" + orderID + "|" + clientOrderID
	id := "payment.final:" + digest(dedup)[:32]
	data := map[string]any{}
	for k := range q {
		if k != "control" {
			data[k] = q.Get(k)
		}
	}
	rec, _ := json.Marshal(map[string]any{"received": time.Now().UTC().Format(time.RFC3339), "query": data})
	err = p.st.Update(r.Context(), func(tx store.Tx) error {
		// Kept for good: the classic control has no timestamp, so only
		// the record stops a callback URL replayed months later (from an
		// access log, say) from becoming a new payment.final event.
		created, err := tx.Insert(store.BucketCallbacks, dedup, rec, time.Time{})
		if err != nil || !created {
			return err // a repeat: already stored and queued
		}
		for _, flow := range []string{"sale", "transfer", "verification"} {
			raw, err := tx.Get(store.BucketSessions, sessionKey(flow, clientOrderID))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if s, err := loadSession(raw); err == nil {
				s.State, s.Final = strings.ToUpper(status), true
				if err := tx.Put(store.BucketSessions, sessionKey(flow, clientOrderID), s.marshal(), s.Expires.Add(24*time.Hour)); err != nil {
					return err
				}
			}
		}
		return p.enqueue(tx, "payment.final", id, data)
	})
	if err != nil {
		p.storeFailed(w, r, op, err, "")
		return nil
	}
	p.app.Notify()
	p.count(op, "ok")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "OK\n")
	return nil
}
