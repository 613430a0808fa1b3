package hardening_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

const (
	nodeTokenC     = "hd-node-token-C-7e2b90aa13"
	voyadoBackend2 = "hd-voyado-backend-key-ROTATED-31f0"
)

// TestTokenRotation: Smarts node tokens and the Voyado backend key come
// from files; missing, wrong, prefix, swapped (the real key presented as
// the backend key) and duplicated credentials are refused without reaching
// anyone or changing the store; a config reload (no restart, same PID)
// rotates them: the old token and key stop working at once, the new ones
// work; a reload with an empty secret file is refused and the running
// config keeps serving.
func TestTokenRotation(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t)
	ps := newParties(t)
	cfg := config{
		Store: "postgres", DSN: dsn,
		SmartsTokens:  []string{"{file.{{DIR}}/node-token-a}", "{file.{{DIR}}/node-token-b}"},
		VoyadoBackend: "{file.{{DIR}}/voyado-backend-key}",
		Files:         map[string]string{"node-token-a": nodeTokenA, "node-token-b": nodeTokenB, "voyado-backend-key": voyadoBackend},
	}
	n := start(t, cfg, ps)
	n.secrets = append(n.secrets, secret{"smarts node token C", nodeTokenC, true}, secret{"voyado backend key (rotated)", voyadoBackend2, true})
	st := openPostgres(t, dsn)
	pid := n.in.PID()
	barcode := []byte(`{"type":"SELF_SERVICE","barcode":"4740012345678","langCode":"ET"}`)
	node := func(tok string) resp {
		h := hdr()
		if tok != "" {
			h.Set("accessToken", tok)
		}
		return n.do("POST", "/smarts/product/search/barcode", h, barcode)
	}
	pay := func(keys ...string) resp {
		h := hdr("Idempotency-Key", "rot-"+randHex(6))
		for _, k := range keys {
			h.Add("Api-Key", k)
		}
		return n.do("POST", v2Payment+"?"+v2Query, h, paymentBody(3))
	}
	refused := func(what string, r resp, status int) {
		t.Helper()
		if r.Err != nil || r.Status != status {
			t.Errorf("%s: %v %d %s, want %d", what, r.Err, r.Status, r.Body, status)
			return
		}
		if _, err := testenv.CheckJSONError(r.Header, r.Body); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	accepted := func(what string, r resp, status int) {
		t.Helper()
		if r.Err != nil || r.Status != status {
			t.Errorf("%s: %v %d %s, want %d", what, r.Err, r.Status, r.Body, status)
		}
	}
	refusals := func(phase string, oldTokens []string, oldKey string) {
		t.Helper()
		n.drained(10 * time.Second) // accepted payments are delivered first
		before := storetest.Snapshot(t, st)
		b0, c0 := ps.backend.count(), ps.cluster.count()
		refused(phase+": no node token", node(""), 401)
		refused(phase+": wrong node token", node("hd-node-token-X"), 401)
		refused(phase+": node token prefix", node(nodeTokenB[:10]), 401)
		refused(phase+": backend key as node token", node(smartsBackend), 401)
		for _, tok := range oldTokens {
			refused(phase+": retired node token", node(tok), 401)
		}
		refused(phase+": no Api-Key", pay(), 403)
		refused(phase+": wrong Api-Key", pay("nope"), 403)
		refused(phase+": the real Api-Key", pay(voyadoAPIKey), 403)
		refused(phase+": Api-Key twice", pay(voyadoBackend, voyadoBackend), 403)
		if oldKey != "" {
			refused(phase+": retired backend key", pay(oldKey), 403)
		}
		if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
			t.Errorf("%s: refusals changed the store:\n%s", phase, d)
		}
		if ps.backend.count() != b0 || ps.cluster.count() != c0 {
			t.Errorf("%s: a refused request reached the backend or the cluster", phase)
		}
	}

	accepted("token A", node(nodeTokenA), 200)
	accepted("token B", node(nodeTokenB), 200)
	accepted("backend key", pay(voyadoBackend), 202)
	refused("token C before rotation", node(nodeTokenC), 401)
	refusals("before rotation", nil, "")

	// Rotate: drop A, add C; replace the backend key.
	os.WriteFile(filepath.Join(n.in.Dir, "node-token-c"), []byte(nodeTokenC), 0o600)
	os.WriteFile(filepath.Join(n.in.Dir, "voyado-backend-key"), []byte(voyadoBackend2), 0o600)
	rotated := cfg
	rotated.SmartsTokens = []string{"{file.{{DIR}}/node-token-b}", "{file.{{DIR}}/node-token-c}"}
	if err := n.reload(rotated); err != nil {
		t.Fatalf("reload: %v", err)
	}
	accepted("token B after rotation", node(nodeTokenB), 200)
	accepted("token C after rotation", node(nodeTokenC), 200)
	accepted("new backend key", pay(voyadoBackend2), 202)
	refusals("after rotation", []string{nodeTokenA}, voyadoBackend)

	// An empty secret file: the reload is refused, the running config stays.
	os.WriteFile(filepath.Join(n.in.Dir, "node-token-d"), nil, 0o600)
	broken := rotated
	broken.SmartsTokens = []string{"{file.{{DIR}}/node-token-d}"}
	if err := n.reload(broken); err == nil {
		t.Errorf("a reload with an empty node token file was accepted")
	} else {
		n.scanBytes([]byte(err.Error()), "the refused reload's error")
	}
	accepted("token C after a refused reload", node(nodeTokenC), 200)
	refused("token A after a refused reload", node(nodeTokenA), 401)
	if n.in.PID() != pid {
		t.Errorf("the process changed")
	}
	n.mustBeAlive("the rotations")
	n.drained(10 * time.Second)
}
