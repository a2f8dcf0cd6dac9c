package exchangesim

import "sync/atomic"

// Stats are exact counters of what an exchange did since it started.
type Stats struct {
	TokensIssued         int64 `json:"tokensIssued"`         // access tokens and sessions issued
	CodesExchanged       int64 `json:"codesExchanged"`       // authorization codes redeemed
	RefreshesOK          int64 `json:"refreshesOk"`          // successful refresh-token rotations
	RefreshesRejected    int64 `json:"refreshesRejected"`    // refreshes refused (unknown, expired, revoked)
	RefreshReuseDetected int64 `json:"refreshReuseDetected"` // replayed refresh tokens (each revoked a grant)
	GrantsRevoked        int64 `json:"grantsRevoked"`        // grants revoked for any reason
	RevocationsReceived  int64 `json:"revocationsReceived"`  // calls to the RFC 7009 endpoint / logout
	Logins               int64 `json:"logins"`               // successful logins (consent or credentials)
	LoginFailures        int64 `json:"loginFailures"`        // wrong password
	MFAFailures          int64 `json:"mfaFailures"`          // wrong MFA code
	TokenCalls           int64 `json:"tokenCalls"`           // calls to the token endpoint
	APICalls             int64 `json:"apiCalls"`             // calls to the account API
	Transfers            int64 `json:"transfers"`            // transfers executed (not idempotent replays)
	Injected503          int64 `json:"injected503"`          // faults answered with 503
	Injected429          int64 `json:"injected429"`          // faults answered with 429
	LiveGrants           int64 `json:"liveGrants"`           // grants currently not revoked
	HeldAnswers          int64 `json:"heldAnswers"`          // answers processed but held back now (Faults.AnswerLatency)
}

type counters struct {
	tokensIssued, codesExchanged, refreshesOK, refreshesRejected, refreshReuse atomic.Int64
	grantsRevoked, revocations, logins, loginFailures, mfaFailures             atomic.Int64
	tokenCalls, apiCalls, transfers, faults503, faults429                      atomic.Int64
	held                                                                       atomic.Int64
}

// Stats returns a snapshot of the counters.
func (e *Exchange) Stats() Stats {
	c := &e.stats
	return Stats{
		TokensIssued:         c.tokensIssued.Load(),
		CodesExchanged:       c.codesExchanged.Load(),
		RefreshesOK:          c.refreshesOK.Load(),
		RefreshesRejected:    c.refreshesRejected.Load(),
		RefreshReuseDetected: c.refreshReuse.Load(),
		GrantsRevoked:        c.grantsRevoked.Load(),
		RevocationsReceived:  c.revocations.Load(),
		Logins:               c.logins.Load(),
		LoginFailures:        c.loginFailures.Load(),
		MFAFailures:          c.mfaFailures.Load(),
		TokenCalls:           c.tokenCalls.Load(),
		APICalls:             c.apiCalls.Load(),
		Transfers:            c.transfers.Load(),
		Injected503:          c.faults503.Load(),
		Injected429:          c.faults429.Load(),
		LiveGrants:           int64(e.grants.liveGrants() + e.keys.live()),
		HeldAnswers:          c.held.Load(),
	}
}
