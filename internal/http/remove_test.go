package http_test

import (
	"testing"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	lvhttp "github.com/linkvault/linkvault/internal/http"
)

// TestRemoveAnswerSaysWhatBecameOfTheGrant (issue 13, defect 3): DELETE /api/v1/account
// says whether the exchange revoked the grant. Mesh's answer is a closed ApiResult (no
// content; every answer here is validated against Mesh's OpenAPI schema by e.do), so
// the state is the message and the Linkvault-Revocation header. On main before the fix,
// a removal with the exchange down answered a bare "ok" and the grant stayed live.
func TestRemoveAnswerSaysWhatBecameOfTheGrant(t *testing.T) {
	e := newAPIEnv(t)
	remove := func(tok string, b linkvault.BrokerType) apiResponse {
		t.Helper()
		r := e.do(t, "DELETE", "/api/v1/account", "app1", linkvault.PermissionRead, `{"authToken":"`+tok+`","type":"`+string(b)+`"}`)
		if r.code != 200 || r.env.Status != "ok" {
			t.Fatalf("remove: %d %s", r.code, r.body)
		}
		if r.hdr.Get(lvhttp.HeaderRevocation) != r.env.Message {
			t.Fatalf("header %q and message %q disagree", r.hdr.Get(lvhttp.HeaderRevocation), r.env.Message)
		}
		return r
	}
	cb := e.exchange(linkvault.BrokerCoinbase)

	up := e.connect(t, "app1", "ann", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	if r := remove(up, linkvault.BrokerCoinbase); r.env.Message != string(linkvault.RevocationRevoked) {
		t.Fatalf("exchange up: message %q, want revoked", r.env.Message)
	}

	down := e.connect(t, "app1", "bob", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	live := cb.Stats().LiveGrants
	cb.SetFaults(exchangesim.Faults{ErrorRate: 1})
	r := remove(down, linkvault.BrokerCoinbase)
	cb.SetFaults(exchangesim.Faults{})
	if r.env.Message != string(linkvault.RevocationPending) {
		t.Fatalf("exchange down: message %q, want revocationPending", r.env.Message)
	}
	if got := cb.Stats().LiveGrants; got != live {
		t.Fatalf("live grants %d -> %d while the exchange was down", live, got)
	}
	if r := e.do(t, "POST", "/api/v1/holdings/get", "app1", linkvault.PermissionRead, `{"authToken":"`+down+`","type":"coinbase"}`); r.code != 404 {
		t.Fatalf("the removed tokenId still answers %d", r.code)
	}

	bn := e.connect(t, "app1", "cyd", linkvault.BrokerBinance, linkvault.PermissionRead)
	if r := remove(bn, linkvault.BrokerBinance); r.env.Message != string(linkvault.RevocationUnsupported) {
		t.Fatalf("binance: message %q, want revocationUnsupported", r.env.Message)
	}
}
