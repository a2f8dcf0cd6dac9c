package http

import (
	"net/http"
	"time"

	"github.com/linkvault/linkvault"
)

// integrationsContent is the content of GET /api/v1/integrations. The public Mesh
// reference does not document this shape; linkvault answers {items: [...]} with each
// integration's catalog entry (linkvault.Integration: type, name, authKind, logoUrl,
// brandColor, supportsRefresh, supportsRevocation, supportsTransfers, networks).
type integrationsContent struct {
	Items []linkvault.Integration `json:"items"`
}

// handleIntegrations is GET /api/v1/integrations: the integrations enabled on this
// server, in catalog order.
func (a *accountAPI) handleIntegrations(w http.ResponseWriter, r *http.Request) error {
	out := integrationsContent{Items: []linkvault.Integration{}}
	if a.s.deps.Providers != nil {
		for _, p := range a.s.deps.Providers.List() {
			out.Items = append(out.Items, p.Integration())
		}
	}
	writeOK(w, out)
	return nil
}

// integrationStatus is one element of the content of GET /api/v1/status (an array, in
// catalog order). status is "operational" (the exchange answered recently),
// "degraded" (its last answers were transient failures: 5xx, 429, timeouts) or
// "unknown" (no recent evidence either way); isUp is false only when degraded.
// lastSuccessAt / lastFailureAt are RFC 3339 times of the last evidence, omitted when
// there is none.
type integrationStatus struct {
	Type          linkvault.BrokerType `json:"type"`
	Name          string               `json:"name"`
	Status        string               `json:"status"`
	IsUp          bool                 `json:"isUp"`
	LastSuccessAt *time.Time           `json:"lastSuccessAt,omitempty"`
	LastFailureAt *time.Time           `json:"lastFailureAt,omitempty"`
}

// handleStatus is GET /api/v1/status: per-integration health (account.Service.Status).
func (a *accountAPI) handleStatus(w http.ResponseWriter, r *http.Request) error {
	out := []integrationStatus{}
	for _, h := range a.s.account.Status(r.Context()) {
		out = append(out, integrationStatus{Type: h.Type, Name: h.Name, Status: h.Status, IsUp: h.IsUp,
			LastSuccessAt: h.LastSuccess, LastFailureAt: h.LastFailure})
	}
	writeOK(w, out)
	return nil
}
