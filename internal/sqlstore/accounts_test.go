package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/linkvault/linkvault"
)

func TestDecodeAccounts(t *testing.T) {
	for _, tc := range []struct {
		column string
		fast   bool // read without encoding/json
	}{
		{`null`, true},
		{`[]`, true},
		{`[{"accountId":"a1","accountName":"Main","fund":1.5,"cash":0}]`, true},
		{`[{"accountId":"a1","accountName":"Main","fund":1e+21,"cash":-0.25},{"accountId":"","accountName":"Épargne €","fund":0,"cash":12345678.9}]`, true},
		{`[{"accountId":"a\"1","accountName":"x","fund":1,"cash":2}]`, false},        // escape
		{`[{"accountName":"x","accountId":"a","fund":1,"cash":2}]`, false},           // order
		{`[{"accountid":"a","accountName":"x","fund":1,"cash":2}]`, false},           // case
		{`[ {"accountId":"a","accountName":"x","fund":1,"cash":2}]`, false},          // space
		{`[{"accountId":"a","accountName":"x","fund":1,"cash":2,"extra":1}]`, false}, // more keys
		{`[{"accountId":"a","accountName":"x","fund":1}]`, false},                    // fewer keys
		{"[{\"accountId\":\"a\xff\",\"accountName\":\"x\",\"fund\":1,\"cash\":2}]", false},
	} {
		want := decodeWithEncodingJSON(t, tc.column)
		_, fast := scanAccounts(tc.column)
		got, err := decodeAccounts(tc.column)
		if err != nil || !reflect.DeepEqual(got, want) || fast != tc.fast {
			t.Errorf("decodeAccounts(%s) = %#v, %v (fast %v), want %#v (fast %v)", tc.column, got, err, fast, want, tc.fast)
		}
	}
	for _, bad := range []string{``, `[`, `[,]`, `[{"accountId":"a","accountName":"x","fund":01,"cash":2}]`, `[{"accountId":"a","accountName":"x","fund":1e999,"cash":2}]`, `[{"accountId":"a","accountName":"x","fund":1,"cash":2},]`, `{}`} {
		if _, err := decodeAccounts(bad); err == nil {
			t.Errorf("decodeAccounts(%s) succeeded", bad)
		}
	}
}

// What decodeAccounts decodes is what encoding/json decodes, and what encoding/json
// refuses it refuses.
func FuzzDecodeAccounts(f *testing.F) {
	for _, s := range []string{`null`, `[]`, `[{"accountId":"a1","accountName":"Main","fund":1.5,"cash":0}]`,
		`[{"accountId":"a","accountName":"b","fund":-0,"cash":1E-7},{"accountId":"c","accountName":"d","fund":2,"cash":3}]`,
		`[{"accountId":"a","accountName":"x","fund":01,"cash":2}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []linkvault.Account
		wantErr := json.Unmarshal([]byte(s), &want)
		got, err := decodeAccounts(s)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeAccounts(%q) error %v, encoding/json %v", s, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeAccounts(%q) = %#v, encoding/json %#v", s, got, want)
		}
	})
}

func decodeWithEncodingJSON(t *testing.T, s string) []linkvault.Account {
	t.Helper()
	var as []linkvault.Account
	if err := json.Unmarshal([]byte(s), &as); err != nil {
		t.Fatalf("encoding/json refuses %s: %v", s, err)
	}
	return as
}
