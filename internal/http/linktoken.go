package http

import (
	"net/http"
	"strings"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/link"
)

// linkTokenRequest is the body of POST /api/v1/linktoken (Mesh contract; fields the
// contract has beyond these are accepted and ignored).
type linkTokenRequest struct {
	UserID                   string `json:"userId"`
	RestrictMultipleAccounts bool   `json:"restrictMultipleAccounts"`
	IntegrationID            string `json:"integrationId"`
	BrokerType               string `json:"brokerType"`
}

// handleLinkToken is POST /api/v1/linktoken: a single-use, short-lived Link session
// for one of the client's users, bound to the key's permission (the scope of every
// connection made in it). content.linkToken is the base64 of the absolute Link URL.
func (ui *linkUI) handleLinkToken(w http.ResponseWriter, r *http.Request) error {
	var req linkTokenRequest
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	if err := linkvault.ValidateUserID(req.UserID); err != nil {
		return err
	}
	opts := linkvault.LinkOptions{RestrictMultipleAccounts: req.RestrictMultipleAccounts, IntegrationID: req.IntegrationID}
	if req.BrokerType != "" {
		bt, err := linkvault.ParseBrokerType(req.BrokerType)
		if err != nil {
			return err
		}
		opts.BrokerType = bt
	}
	if req.IntegrationID != "" {
		// An id of GET /api/v1/integrations preselects that integration, as
		// brokerType (deprecated in Mesh's schema) does.
		bt, ok := account.BrokerOfIntegrationID(req.IntegrationID)
		if !ok {
			return linkvault.ErrInvalid("Unknown integrationId; use an id from GET /api/v1/integrations.")
		}
		if opts.BrokerType != "" && opts.BrokerType != bt {
			return linkvault.ErrInvalid("integrationId and brokerType name different integrations.")
		}
		opts.BrokerType, opts.IntegrationID = bt, strings.ToLower(req.IntegrationID)
	}
	if ui.svc == nil {
		return errLinkOff()
	}
	p := principal(r.Context())
	if err := ui.s.limits.takeLinkToken(p.ClientID); err != nil {
		return err
	}
	created, err := ui.svc.Create(r.Context(), link.CreateParams{
		ClientID: p.ClientID, UserID: req.UserID, Permission: p.Permission, Options: opts,
	})
	if err != nil {
		return err
	}
	writeLinkToken(w, created.LinkToken)
	return nil
}

// writeLinkToken writes the linktoken answer, {"linkToken": ...} in the envelope,
// without reflection (the same bytes as encoding/json writes: TestLinkTokenEnvelope).
func writeLinkToken(w http.ResponseWriter, token string) {
	content := func() any { return map[string]string{"linkToken": token} }
	writeOKFast(w, content, func(b []byte) ([]byte, bool) {
		b = append(b, `{"linkToken":`...)
		return append(appendJSONString(b, token), '}'), true
	})
}
