package account

import (
	"context"
	"strings"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
)

// Holdings is the answer of Service.Holdings: the connected account's positions as the
// exchange reports them, and the connection they were read through.
type Holdings struct {
	linkvault.Holdings
	Connection Connection
}

// Holdings reads the connection's positions from the exchange in real time.
func (s *Service) Holdings(ctx context.Context, c Caller, t Target) (*Holdings, error) {
	return withConn(ctx, s, c, t, audit.ActionHoldings, linkvault.PermissionRead, func(cn *conn) (*Holdings, error) {
		return s.holdings(ctx, cn)
	})
}

func (s *Service) holdings(ctx context.Context, cn *conn) (*Holdings, error) {
	h, err := callValue(ctx, s, cn, cn.provider.Holdings)
	if err != nil {
		return nil, err
	}
	out := &Holdings{Holdings: h, Connection: connectionOf(cn)}
	if out.InstitutionName == "" {
		out.InstitutionName = out.Connection.Integration.Name
	}
	if out.AccountID == "" && len(out.Connection.Accounts) > 0 {
		out.AccountID = out.Connection.Accounts[0].AccountID
	}
	return out, nil
}

// Balances is the answer of Service.Balances.
type Balances struct {
	Balances []linkvault.Balance
	// TotalCash and TotalBuyingPower are the balances' sums in USD at the exchange's
	// public rates (Mesh's totalCashUsdValue, totalBuyingPowerUsdValue); nil when the
	// exchange's rates could not be read. Currencies without a rate count zero.
	TotalCash, TotalBuyingPower *linkvault.Decimal
	Connection                  Connection
}

// Balances reads the connection's fiat balances from the exchange in real time.
func (s *Service) Balances(ctx context.Context, c Caller, t Target) (*Balances, error) {
	return withConn(ctx, s, c, t, audit.ActionBalance, linkvault.PermissionRead, func(cn *conn) (*Balances, error) {
		return s.balances(ctx, cn)
	})
}

func (s *Service) balances(ctx context.Context, cn *conn) (*Balances, error) {
	bs, err := callValue(ctx, s, cn, cn.provider.Balances)
	if err != nil {
		return nil, err
	}
	out := &Balances{Balances: bs, Connection: connectionOf(cn)}
	if rates, err := cn.provider.Rates(ctx, "USD"); err == nil {
		cash := s.usdTotal(bs, rates, true, func(b linkvault.Balance) linkvault.Decimal { return b.Cash })
		bp := s.usdTotal(bs, rates, true, func(b linkvault.Balance) linkvault.Decimal { return b.BuyingPower })
		out.TotalCash, out.TotalBuyingPower = &cash, &bp
	} else if !hasForeign(bs) {
		cash := s.usdTotal(bs, rates, false, func(b linkvault.Balance) linkvault.Decimal { return b.Cash })
		bp := s.usdTotal(bs, rates, false, func(b linkvault.Balance) linkvault.Decimal { return b.BuyingPower })
		out.TotalCash, out.TotalBuyingPower = &cash, &bp
	}
	return out, nil
}

// hasForeign reports whether any balance is in a currency other than USD.
func hasForeign(bs []linkvault.Balance) bool {
	for _, b := range bs {
		if !strings.EqualFold(b.CurrencyCode, "USD") {
			return true
		}
	}
	return false
}

// Remove deletes the connection for good (DELETE /api/v1/account): physically
// deleted, so any later use is not found, and its grant revoked at the exchange, at
// once or, when the exchange does not answer, by the durable revocation queue. It
// returns the revocation state for the answer. The removal is audited like every other
// use of a tokenId.
func (s *Service) Remove(ctx context.Context, c Caller, t Target) (linkvault.RevocationState, error) {
	u := s.begin(c, t, audit.ActionRemove)
	removed, err := s.vault.Remove(ctx, c.ClientID, t.TokenID, t.Broker)
	if err == nil {
		// It was the client's; like its earlier entries, this one keeps the keyed
		// fingerprint, not the tokenId.
		u.entry.TokenRef = removed.Fingerprint
	}
	return removed.Revocation, u.end(ctx, err)
}
