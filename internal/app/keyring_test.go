package app

import (
	"testing"

	"github.com/linkvault/linkvault"
)

func TestCommonWrapVersion(t *testing.T) {
	r := func(held ...int) linkvault.KeyringReplica { return linkvault.KeyringReplica{Held: held} }
	tests := []struct {
		name string
		self []int
		live []linkvault.KeyringReplica
		want int
	}{
		{"alone", []int{1, 2}, nil, 2},
		{"every replica holds the new version", []int{1, 2}, []linkvault.KeyringReplica{r(1, 2), r(1, 2)}, 2},
		{"one replica still on the old file", []int{1, 2}, []linkvault.KeyringReplica{r(1, 2), r(1)}, 1},
		{"old version already dropped here", []int{2}, []linkvault.KeyringReplica{r(1, 2), r(2)}, 2},
		{"a replica with a foreign key file", []int{1, 2}, []linkvault.KeyringReplica{r(7)}, 0},
	}
	for _, tt := range tests {
		if got := CommonWrapVersion(tt.self, tt.live); got != tt.want {
			t.Errorf("%s: CommonWrapVersion = %d, want %d", tt.name, got, tt.want)
		}
	}
}
