package lvclient_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzWebhookVerify feeds arbitrary headers and bodies to the verifier: it never
// panics, and it accepts a delivery only when the header carries the signature the
// specification defines for exactly these id, timestamp and body.
func FuzzWebhookVerify(f *testing.F) {
	f.Add(specMsgID, "1614265330", specSignature, specPayload)
	f.Add(specMsgID, "1614265330", specWrongSignature+" "+specSignature, specPayload)
	f.Add("", "", "", "")
	f.Add("msg", "-1", "v1,", "{}")
	f.Add("msg", "99999999999999999999", "v1a,abc v1,=== v1,"+strings.Repeat("A", 44), "x")
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		at := time.Unix(1614265330, 0)
		v := verifierAt(t, at, specSecret)
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		if err := v.Verify(h, []byte(body)); err != nil {
			return
		}
		// Accepted: the (header-normalised) values must carry the right signature.
		n, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
		if err != nil {
			t.Fatalf("accepted timestamp %q: %v", ts, err)
		}
		want := sign(t, specSecret, h.Get("webhook-id"), n, body)
		if !slices.Contains(strings.Fields(h.Get("webhook-signature")), want) {
			t.Fatalf("accepted id=%q ts=%q sig=%q without the signature %s", id, ts, sig, want)
		}
	})
}
