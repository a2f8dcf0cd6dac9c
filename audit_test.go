package linkvault

import "testing"

func TestTokenFingerprint(t *testing.T) {
	tok := NewTokenID()
	fp := TokenFingerprint(tok)
	if len(fp) != 16 || fp != TokenFingerprint(tok) || fp == TokenFingerprint(tok+"x") {
		t.Fatalf("TokenFingerprint(%q) = %q: want 16 stable hex chars that differ between tokenIds", tok, fp)
	}
}

func TestAuditQueryNormalize(t *testing.T) {
	tests := []struct {
		q         AuditQuery
		wantLimit int
		wantErr   bool
	}{
		{AuditQuery{ClientID: "app"}, AuditDefaultLimit, false},
		{AuditQuery{ClientID: "app", Limit: 5}, 5, false},
		{AuditQuery{ClientID: "app", Limit: AuditMaxLimit}, AuditMaxLimit, false},
		{AuditQuery{ClientID: "app", Limit: AuditMaxLimit + 1}, 0, true},
		{AuditQuery{ClientID: "app", Limit: -3}, 0, true},
		{AuditQuery{}, 0, true},
		{AuditQuery{ClientID: "../x"}, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.q.Normalize()
		if (err != nil) != tt.wantErr || (!tt.wantErr && got.Limit != tt.wantLimit) {
			t.Errorf("Normalize(%+v) = %+v, %v", tt.q, got, err)
		}
	}
}
