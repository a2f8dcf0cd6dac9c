package lvclient

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseWebhookSignaturesBounds(t *testing.T) {
	one := "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
	if got := parseWebhookSignatures(strings.Repeat(one+" ", 100)); len(got) != maxWebhookSignatures {
		t.Fatalf("parsed %d signatures, want at most %d", len(got), maxWebhookSignatures)
	}
	if got := parseWebhookSignatures("v1," + base64.StdEncoding.EncodeToString(make([]byte, 31))); len(got) != 0 {
		t.Fatalf("accepted a signature of the wrong length")
	}
}

// FuzzParseWebhookSignatures: the header parser never panics, returns only 32-byte v1
// signatures, at most 16, and finds every well-formed entry of a header it produced.
func FuzzParseWebhookSignatures(f *testing.F) {
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("v2,abc v1a,def v1, ,v1 v1,,")
	f.Add("")
	f.Add("v1,====")
	f.Fuzz(func(t *testing.T, header string) {
		sigs := parseWebhookSignatures(header)
		if len(sigs) > maxWebhookSignatures {
			t.Fatalf("%d signatures", len(sigs))
		}
		parts := make([]string, 0, len(sigs))
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("signature of %d bytes", len(s))
			}
			parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(s))
		}
		again := parseWebhookSignatures(strings.Join(parts, " "))
		if len(again) != len(sigs) {
			t.Fatalf("re-parse found %d of %d", len(again), len(sigs))
		}
		for i := range again {
			if string(again[i]) != string(sigs[i]) {
				t.Fatalf("re-parse changed signature %d", i)
			}
		}
	})
}
