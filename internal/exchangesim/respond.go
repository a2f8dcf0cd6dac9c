package exchangesim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxRequestBody bounds every request body the simulator reads.
const maxRequestBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in the error shape of the endpoint class and flavor:
// OAuth endpoints {"error","error_description"}; Coinbase {"errors":[{"id","message"}]};
// Uphold {"code","message"}; Binance {"code": <negative int>,"msg"}.
func (e *Exchange) writeError(w http.ResponseWriter, class endpointClass, status int, code, message string) {
	if d := e.faults.load().ErrorDetail; d != "" {
		message += " " + d
	}
	if status == http.StatusUnauthorized && class == classAPI && e.flavor != FlavorBinance {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if class == classToken || class == classRevoke {
		writeJSON(w, status, map[string]string{"error": code, "error_description": message})
		return
	}
	switch e.flavor {
	case FlavorCoinbase, FlavorSandbox:
		writeJSON(w, status, map[string]any{"errors": []map[string]string{{"id": code, "message": message}}})
	case FlavorUphold:
		writeJSON(w, status, map[string]string{"code": code, "message": message})
	default: // Binance: numeric codes
		n := map[string]int{"rate_limit_exceeded": -1003, "temporarily_unavailable": -1001}[code]
		if n == 0 {
			n = -1000
		}
		writeJSON(w, status, map[string]any{"code": n, "msg": message})
	}
}

// apiError is shorthand for an API-class error.
func (e *Exchange) apiError(w http.ResponseWriter, status int, code, message string) {
	e.writeError(w, classAPI, status, code, message)
}

// readJSON decodes a bounded JSON request body.
func readJSON(r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		return false
	}
	return json.Unmarshal(body, v) == nil
}

// bearerToken extracts an RFC 6750 bearer token.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// formatAmount renders an amount the way exchanges do: a decimal string.
func formatAmount(v float64) string { return strconv.FormatFloat(roundAmount(v), 'f', -1, 64) }

// parseAmount parses a positive decimal amount.
func parseAmount(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v <= 0 || v > 1e12 || v != v {
		return 0, false
	}
	return roundAmount(v), true
}
