package app

import (
	"context"
	"fmt"

	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/awskms"
	"github.com/linkvault/linkvault/internal/envelope/transit"
)

// KeyWrapper returns the KMS configured to wrap the master keys (LINKVAULT_KMS_KIND), or
// nil when the keys are plain.
func KeyWrapper(ctx context.Context, cfg *config.Config) (envelope.KeyWrapper, error) {
	k := cfg.KMS
	switch k.Kind {
	case "":
		return nil, nil
	case config.KMSAWS:
		return awskms.New(ctx, awskms.Config{KeyID: k.AWS.KeyID, Region: k.AWS.Region, Endpoint: k.AWS.Endpoint})
	case config.KMSVaultTransit:
		return transit.New(transit.Config{
			Address: k.Vault.Address, Token: k.Vault.Token.Reveal(), Namespace: k.Vault.Namespace,
			Mount: k.Vault.Mount, Key: k.Vault.Key, CACert: k.Vault.CACert,
		})
	}
	return nil, fmt.Errorf("unknown %sKMS_KIND %q", config.EnvPrefix, k.Kind)
}
