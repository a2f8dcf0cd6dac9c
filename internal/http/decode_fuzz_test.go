package http

import (
	"bytes"
	"testing"

	"github.com/linkvault/linkvault"
)

// FuzzDecodeTokenRequest feeds arbitrary bodies to the request decoder: it must never
// panic, and every failure must be a client-safe badRequest envelope error.
func FuzzDecodeTokenRequest(f *testing.F) {
	for _, seed := range []string{
		`{"authToken":"abc","type":"coinbase"}`, `{"authToken":5}`, `[]`, `null`, `{"a":`, "", `{}{}`,
		`{"authToken":"\u0000","type":"sandbox","extra":{"deep":[1,2,{"x":null}]}}`, `"string"`, `1e999`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req tokenRequest
		err := decodeJSONBody(bytes.NewReader(body), &req)
		if err == nil {
			return
		}
		if linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
			t.Fatalf("decode error is %v, want badRequest", err)
		}
		if msg := linkvault.ErrorMessage(err); msg == "" {
			t.Fatalf("error message %q unusable", msg)
		}
	})
}
