package envelope

import (
	"bytes"
	"testing"
)

func TestCredentialAADIsInjective(t *testing.T) {
	type row struct {
		client, token string
		version       int
	}
	rows := []row{
		{"ab", "c", 1},
		{"a", "bc", 1},
		{"abc", "", 1},
		{"", "abc", 1},
		{"ab", "c", 2},
		{"ab", "c", 1 << 32},
		{"ab\x00\x00\x00\x01c", "", 1},
	}
	seen := make(map[string]row)
	for _, r := range rows {
		aad := credentialAAD(nil, r.client, r.token, r.version)
		if len(aad) != credentialAADSize(r.client, r.token) {
			t.Errorf("%+v: size %d, credentialAADSize says %d", r, len(aad), credentialAADSize(r.client, r.token))
		}
		if prev, dup := seen[string(aad)]; dup {
			t.Errorf("rows %+v and %+v share associated data", prev, r)
		}
		seen[string(aad)] = r
	}
	if bytes.Equal(dataKeyAAD("ab", 1, 1), credentialAAD(nil, "ab", "", 1)) {
		t.Error("data key and credential associated data collide")
	}
}

func TestWrappedDataKeyIsBoundToItsRow(t *testing.T) {
	// Both master versions hold the same key, so only the associated data can tell
	// them apart.
	const key32 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
	m, err := LoadMasterKeyring([]byte("v1:" + key32 + "\nv2:" + key32))
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{9}, DataKeySize)
	wrapped, err := m.wrap("client", 1, 1, key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		client        string
		version, mver int
		wantUnwrapOK  bool
	}{
		{"genuine", "client", 1, 1, true},
		{"other client", "client2", 1, 1, false},
		{"other data key version", "client", 2, 1, false},
		{"claimed other master version", "client", 1, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.unwrap(tt.client, tt.version, tt.mver, wrapped)
			if ok := err == nil && bytes.Equal(got, key); ok != tt.wantUnwrapOK {
				t.Fatalf("unwrap ok = %v (err %v), want %v", ok, err, tt.wantUnwrapOK)
			}
		})
	}
}
