package http

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/linkvault/linkvault"
)

// Envelope is the Mesh response envelope wrapped around every API answer (Mesh's
// ApiResult). A success carries content; an error carries no content (ApiResult, the
// schema of Mesh's error answers, is closed and has none) and, where there is
// something to add, errorData: {retryAfterSeconds} with a Retry-After.
type Envelope struct {
	Status         string  `json:"status"`
	Message        string  `json:"message"`
	DisplayMessage *string `json:"displayMessage"`
	ErrorType      string  `json:"errorType"`
	Content        any     `json:"content,omitempty"`
	ErrorData      any     `json:"errorData,omitempty"`
}

// httpStatus is the one table from an envelope status to an HTTP status code.
var httpStatus = map[string]int{
	linkvault.StatusOK:               http.StatusOK,
	linkvault.StatusBadRequest:       http.StatusBadRequest,
	linkvault.StatusUnauthorized:     http.StatusUnauthorized,
	linkvault.StatusPermissionDenied: http.StatusForbidden,
	linkvault.StatusNotFound:         http.StatusNotFound,
	linkvault.StatusConflict:         http.StatusConflict,
	linkvault.StatusLocked:           http.StatusLocked,
	linkvault.StatusTooManyRequests:  http.StatusTooManyRequests,
	linkvault.StatusServerFailure:    http.StatusInternalServerError,
}

// httpStatusByType refines the table for error types that have a more precise code.
var httpStatusByType = map[string]int{
	linkvault.ErrTypeBodyTooLarge:     http.StatusRequestEntityTooLarge,
	linkvault.ErrTypeMethodNotAllowed: http.StatusMethodNotAllowed,
	linkvault.ErrTypeProviderFailure:  http.StatusBadGateway,
	linkvault.ErrTypeRateLimited:      http.StatusTooManyRequests,
	linkvault.ErrTypeProviderRejected: http.StatusUnprocessableEntity,
	// The database did not answer: a retryable outage (Retry-After), told apart from
	// a bug (500 internalError).
	linkvault.ErrTypeUnavailable: http.StatusServiceUnavailable,
}

// wireStatus is the status string written on the wire; the envelope has no separate
// "unauthorized" value, so it travels as permissionDenied (with HTTP 401).
func wireStatus(status string) string {
	if status == linkvault.StatusUnauthorized {
		return linkvault.StatusPermissionDenied
	}
	if _, ok := httpStatus[status]; !ok {
		return linkvault.StatusServerFailure
	}
	return status
}

// StatusCode returns the HTTP status for err.
func StatusCode(err error) int {
	if code, ok := httpStatusByType[linkvault.ErrorType(err)]; ok {
		return code
	}
	if code, ok := httpStatus[linkvault.ErrorStatus(err)]; ok {
		return code
	}
	return http.StatusInternalServerError
}

// writeOK writes a successful envelope.
func writeOK(w http.ResponseWriter, content any) {
	writeEnvelope(w, http.StatusOK, Envelope{Status: linkvault.StatusOK, Content: content})
}

// writeError writes err as an envelope. Errors that are not *linkvault.Error are
// logged (they may carry internal detail) and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *linkvault.Error
	if !errors.As(err, &e) {
		s.log.ErrorContext(r.Context(), "internal error", "route", r.Pattern, "error", err)
	} else if e.Status == linkvault.StatusServerFailure {
		s.log.ErrorContext(r.Context(), "server failure", "route", r.Pattern, "type", e.Type, "error", e.Err)
	}
	writeErrorEnvelope(w, err)
}

func writeErrorEnvelope(w http.ResponseWriter, err error) {
	env := Envelope{
		Status:    wireStatus(linkvault.ErrorStatus(err)),
		Message:   linkvault.ErrorMessage(err),
		ErrorType: linkvault.ErrorType(err),
	}
	var e *linkvault.Error
	if errors.As(err, &e) {
		if e.Display != "" {
			env.DisplayMessage = &e.Display
		}
		if e.RetryAfter > 0 {
			secs := int((e.RetryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			env.ErrorData = map[string]int{"retryAfterSeconds": secs}
		}
	}
	writeEnvelope(w, StatusCode(err), env)
}

// Header values of every envelope, shared read-only by all responses (saves three
// allocations per request on the hot path; nothing appends to them).
var (
	headerJSON    = []string{"application/json; charset=utf-8"}
	headerNoStore = []string{"no-store"}
	headerNoSniff = []string{"nosniff"}
)

func setEnvelopeHeaders(h http.Header) {
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["X-Content-Type-Options"] = headerNoSniff
}

func writeEnvelope(w http.ResponseWriter, code int, env Envelope) {
	b, err := json.Marshal(env)
	if err != nil {
		// Content types are ours and always marshal; reaching this is a programming error.
		code = http.StatusInternalServerError
		b = []byte(`{"status":"serverFailure","message":"Internal error.","displayMessage":null,"errorType":"internalError"}`)
	}
	setEnvelopeHeaders(w.Header())
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
