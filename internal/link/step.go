package link

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/linkvault/linkvault"
)

// step is a pending authentication step. It holds a secret (the PKCE verifier), so it
// is stored only sealed.
type step struct {
	Kind     string               `json:"k"` // stepOAuth
	Broker   linkvault.BrokerType `json:"b"`
	TokenID  string               `json:"t,omitempty"` // connection being re-authenticated
	Verifier string               `json:"v,omitempty"` // PKCE code verifier
	Mode     string               `json:"m,omitempty"` // how the page runs the OAuth flow
	View     string               `json:"w,omitempty"` // the page's display parameters (query string)
	Resume   string               `json:"r,omitempty"` // ModeRedirect: digest of the browser's resume value
}

const stepOAuth = "oauth"

// OAuth flow modes chosen by the page.
const (
	// ModePopup: consent in a popup window; the callback renders a page that tells its
	// opener and closes, and the Link page reads the outcome (JSON clients do the same).
	ModePopup = "popup"
	// ModeRedirect: the Link page navigates to the provider itself (native WebViews,
	// Link opened top-level). In the browser that ran the page (it presents the
	// attempt's resume value) the callback renders the Link page again at the result;
	// in any other browser (a native SDK sent the exchange's URL to the system
	// browser) it records the outcome for the page still open in the app, which polls
	// for it, and shows a "return to the app" page.
	ModeRedirect = "redirect"
)

// sealTarget binds sealed steps to the session: no connection tokenId contains ':'.
func sealTarget(sess *linkvault.LinkSession) string { return "link-session:" + sess.Key }

func (s *Service) sealStep(ctx context.Context, sess *linkvault.LinkSession, st step) error {
	plain, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("link: encode step: %w", err)
	}
	sealed, ver, err := s.sealer.Seal(ctx, sess.ClientID, sealTarget(sess), plain)
	clear(plain)
	if err != nil {
		return err
	}
	sess.Pending, sess.PendingKeyVersion = sealed, ver
	return nil
}

// openStep returns the pending step, or false when none is pending or it cannot be
// opened.
func (s *Service) openStep(ctx context.Context, sess *linkvault.LinkSession) (step, bool) {
	if len(sess.Pending) == 0 {
		return step{}, false
	}
	plain, err := s.sealer.Open(ctx, sess.ClientID, sealTarget(sess), sess.PendingKeyVersion, sess.Pending)
	if err != nil {
		s.log.WarnContext(ctx, "link: pending step does not open")
		return step{}, false
	}
	var st step
	err = json.Unmarshal(plain, &st)
	clear(plain)
	if err != nil {
		return step{}, false
	}
	return st, true
}

func clearStep(sess *linkvault.LinkSession) {
	sess.StateKey, sess.Pending, sess.PendingKeyVersion = "", nil, 0
}

// setOutcome records o on the session, re-reading it once if a concurrent write
// (the page starting something else) moved its version.
func (s *Service) setOutcome(ctx context.Context, sess *linkvault.LinkSession, o Outcome) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("link: encode outcome: %w", err)
	}
	for attempt := 0; ; attempt++ {
		sess.Outcome = raw
		err := s.store.UpdateLinkSession(ctx, sess)
		if err == nil || !linkvault.IsConflict(err) || attempt == 2 {
			return err
		}
		fresh, gerr := s.store.GetLinkSession(ctx, sess.Key)
		if gerr != nil {
			return gerr
		}
		*sess = *fresh
	}
}

func failedOutcome(err error) Outcome {
	var e *linkvault.Error
	o := Outcome{Status: OutcomeFailed, ErrorType: linkvault.ErrorType(err), Message: linkvault.ErrorMessage(err)}
	if errors.As(err, &e) && e.Display != "" {
		o.Message = e.Display
	}
	return o
}
