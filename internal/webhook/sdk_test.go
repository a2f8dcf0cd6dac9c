package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/webhook"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// TestSDKVerifiesSign: what this package signs, the Go SDK's verifier (sdk/go, a
// separate module apps import; linkvault itself only signs) accepts, with one or several
// secrets, and it refuses every mutation of a delivery.
func TestSDKVerifiesSign(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	s1, s2, s3 := webhook.NewSecret(), webhook.NewSecret(), webhook.NewSecret()
	body := []byte(`{"type":"connection.created","timestamp":"2030-03-17T17:46:40Z","data":{"tokenId":"t1"}}`)
	sign := func(secrets []linkvault.Secret, id string, at time.Time, b []byte) http.Header {
		sig, err := webhook.Sign(secrets, id, at, b)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(webhook.HeaderSignature, sig)
		return h
	}
	tests := []struct {
		name     string
		signWith []linkvault.Secret
		verifyBy []linkvault.Secret
		h        func(http.Header)
		body     []byte
		at       time.Time
		wantErr  error
	}{
		{name: "one secret", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}},
		{name: "rotation, receiver on the new secret", signWith: []linkvault.Secret{s2, s1}, verifyBy: []linkvault.Secret{s2}},
		{name: "rotation, receiver on the old secret", signWith: []linkvault.Secret{s2, s1}, verifyBy: []linkvault.Secret{s1}},
		{name: "receiver holding both", signWith: []linkvault.Secret{s2}, verifyBy: []linkvault.Secret{s1, s2}},
		{name: "other secret", signWith: []linkvault.Secret{s1, s2}, verifyBy: []linkvault.Secret{s3}, wantErr: lvclient.ErrWebhookSignature},
		{name: "body changed", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}, body: []byte(`{"type":"connection.removed"}`), wantErr: lvclient.ErrWebhookSignature},
		{name: "id changed", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}, h: func(h http.Header) { h.Set(webhook.HeaderID, "evt_other") }, wantErr: lvclient.ErrWebhookSignature},
		{name: "timestamp changed", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1},
			h: func(h http.Header) { h.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)) }, wantErr: lvclient.ErrWebhookSignature},
		{name: "after rotation, the old secret no longer signs", signWith: []linkvault.Secret{s2}, verifyBy: []linkvault.Secret{s1}, wantErr: lvclient.ErrWebhookSignature},
		{name: "bare base64 secret", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{linkvault.NewSecret(s1.Reveal()[len(webhook.SecretPrefix):])}},
		{name: "replayed after the tolerance", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}, at: now.Add(-lvclient.DefaultWebhookTolerance - time.Second), wantErr: lvclient.ErrWebhookTimestamp},
		{name: "too far in the future", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}, at: now.Add(6 * time.Minute), wantErr: lvclient.ErrWebhookTimestamp},
		{name: "within the tolerance", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}, at: now.Add(-4 * time.Minute)},
		{name: "timestamp not a number", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}, h: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "soon") }, wantErr: lvclient.ErrWebhookTimestamp},
		{name: "id header dropped", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}, h: func(h http.Header) { h.Del(webhook.HeaderID) }, wantErr: lvclient.ErrWebhookHeaders},
		{name: "signature header dropped", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1}, h: func(h http.Header) { h.Del(webhook.HeaderSignature) }, wantErr: lvclient.ErrWebhookHeaders},
		{name: "only an unknown version", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1},
			h: func(h http.Header) {
				h.Set(webhook.HeaderSignature, "v2,"+h.Get(webhook.HeaderSignature)[len("v1,"):])
			}, wantErr: lvclient.ErrWebhookSignature},
		{name: "garbage then a valid one", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1},
			h: func(h http.Header) {
				h.Set(webhook.HeaderSignature, "v1,!!! v1a,xyz , "+h.Get(webhook.HeaderSignature))
			}},
		{name: "truncated signature", signWith: []linkvault.Secret{s1}, verifyBy: []linkvault.Secret{s1},
			h: func(h http.Header) {
				sig := h.Get(webhook.HeaderSignature)
				h.Set(webhook.HeaderSignature, sig[:len(sig)-4])
			}, wantErr: lvclient.ErrWebhookSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			if at.IsZero() {
				at = now
			}
			h := sign(tc.signWith, "evt_"+linkvault.NewRandomID(8), at, body)
			if tc.h != nil {
				tc.h(h)
			}
			b := body
			if tc.body != nil {
				b = tc.body
			}
			secrets := make([]string, len(tc.verifyBy))
			for i, s := range tc.verifyBy {
				secrets[i] = s.Reveal()
			}
			v, err := lvclient.NewWebhookVerifier(secrets, lvclient.WithWebhookClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(h, b); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("SDK Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestDispatcherToSDKHandler: the real dispatcher delivers outbox events over HTTP to an
// endpoint built with the SDK's Handler; each event arrives verified, with its
// webhook-id and type, before and after a secret rotation.
func TestDispatcherToSDKHandler(t *testing.T) {
	clock := exchangesim.NewManualClock(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, testdb.SQLite(t), clock.Now)
	var (
		mu       sync.Mutex
		verifier *lvclient.WebhookVerifier
		got      = map[string]*lvclient.WebhookEvent{}
	)
	setSecrets := func(secrets ...linkvault.Secret) {
		s := make([]string, len(secrets))
		for i, x := range secrets {
			s[i] = x.Reveal()
		}
		v, err := lvclient.NewWebhookVerifier(s, lvclient.WithWebhookClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		verifier = v
		mu.Unlock()
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := verifier
		mu.Unlock()
		v.Handler(func(_ context.Context, ev *lvclient.WebhookEvent) error {
			mu.Lock()
			got[ev.ID] = ev
			mu.Unlock()
			return nil
		}).ServeHTTP(w, r)
	})
	addr := serveOn(t, "127.0.0.1:0", handler)

	first, err := e.admin.SetURL(t.Context(), client, "http://"+addr+"/hooks")
	if err != nil {
		t.Fatal(err)
	}
	check := func(ids []string) {
		t.Helper()
		d := e.dispatcher(webhook.Config{SecretCacheTTL: time.Nanosecond}, nil)
		waitFor(t, "delivered", func() bool { return e.pending() == 0 })
		stop(t, d)
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			ev, ok := got[id]
			if !ok {
				t.Fatalf("event %s never reached the SDK handler verified", id)
			}
			c, err := ev.Connection()
			if ev.Type != lvclient.EventConnectionCreated || err != nil || c.TokenID == "" {
				t.Fatalf("event %s = %+v (%v)", id, ev, err)
			}
		}
	}
	setSecrets(first.Secret)
	check(e.events(client, 2))

	second, err := e.admin.RotateSecret(t.Context(), client)
	if err != nil {
		t.Fatal(err)
	}
	setSecrets(second.Secret) // the receiver switches at once; the overlap covers it
	check(e.events(client, 2))

	// After the overlap, a receiver still on the old secret refuses (401), which the
	// dispatcher records as a final failure.
	clock.Advance(time.Hour + time.Second)
	setSecrets(first.Secret)
	ids := e.events(client, 1)
	d := e.dispatcher(webhook.Config{SecretCacheTTL: time.Nanosecond}, nil)
	waitFor(t, "refused", func() bool { return e.pending() == 0 })
	stop(t, d)
	mu.Lock()
	_, delivered := got[ids[0]]
	mu.Unlock()
	if delivered {
		t.Fatal("a delivery signed only with the new secret verified against the old one")
	}
	log, err := e.admin.Deliveries(t.Context(), client, 10)
	if err != nil || len(log) == 0 || log[0].StatusCode != http.StatusUnauthorized {
		t.Fatalf("delivery log after the refused delivery: %+v, %v", log, err)
	}
}
