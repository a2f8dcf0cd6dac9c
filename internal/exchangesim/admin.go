package exchangesim

import (
	"errors"
	"net/http"
	"time"
)

// AdminPrefix is where every exchange serves its control API.
const AdminPrefix = "/_sim/"

// The admin API (JSON; for tests and browser tests on loopback):
//
//	GET  /_sim/                          this list
//	GET  /_sim/stats                     Stats
//	GET  /_sim/faults                    current faults
//	PUT  /_sim/faults                    {errorRate, rateLimitRate, retryAfterSeconds, latencyMs, answerLatencyMs, errorDetail}
//	POST /_sim/users                     {username, password, mfaCode?, balances?} → 201, 409 if taken
//	GET  /_sim/users/{username}          {username, balances}
//	POST /_sim/users/{username}/revoke   revoke all the user's grants → {revoked}
//	POST /_sim/users/{username}/password {password}
//	POST /_sim/grants                    {username} → token response (MintGrant)
//	POST /_sim/expire                    expire every access token now (Binance-like: delete every API key)
//	POST /_sim/apikeys                   {username, withdrawals?, trading?, trustedIps?} → {apiKey, secretKey} (Binance-like)
//	POST /_sim/users/{username}/deposit  {currency, network, amount} → credits a deposit
var adminEndpoints = []string{
	"GET /_sim/stats", "GET /_sim/faults", "PUT /_sim/faults", "POST /_sim/users", "GET /_sim/users/{username}",
	"POST /_sim/users/{username}/revoke", "POST /_sim/users/{username}/password", "POST /_sim/grants", "POST /_sim/expire",
	"POST /_sim/apikeys", "POST /_sim/users/{username}/deposit",
}

// AdminEndpoints lists the admin API routes ("METHOD /path").
func AdminEndpoints() []string { return append([]string(nil), adminEndpoints...) }

// faultsWire is Faults with durations in plain numbers.
type faultsWire struct {
	ErrorRate         float64 `json:"errorRate"`
	RateLimitRate     float64 `json:"rateLimitRate"`
	RetryAfterSeconds int     `json:"retryAfterSeconds"`
	LatencyMs         int     `json:"latencyMs"`
	AnswerLatencyMs   int     `json:"answerLatencyMs"`
	ErrorDetail       string  `json:"errorDetail,omitempty"`
}

func (e *Exchange) routeAdmin() {
	e.mux.HandleFunc("GET /_sim/{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"exchange": e.flavor, "endpoints": adminEndpoints})
	})
	e.mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.Stats())
	})
	e.mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		f := e.Faults()
		writeJSON(w, http.StatusOK, faultsWire{
			ErrorRate: f.ErrorRate, RateLimitRate: f.RateLimitRate, RetryAfterSeconds: int(f.RetryAfter / time.Second),
			LatencyMs: int(f.Latency / time.Millisecond), AnswerLatencyMs: int(f.AnswerLatency / time.Millisecond), ErrorDetail: f.ErrorDetail,
		})
	})
	setFaults := adminCommand("invalid faults",
		func(fw *faultsWire) bool {
			return fw.ErrorRate >= 0 && fw.ErrorRate <= 1 && fw.RateLimitRate >= 0 && fw.RateLimitRate <= 1 &&
				fw.RetryAfterSeconds >= 0 && fw.LatencyMs >= 0 && fw.AnswerLatencyMs >= 0
		},
		func(w http.ResponseWriter, _ *http.Request, fw *faultsWire) {
			e.SetFaults(Faults{
				ErrorRate: fw.ErrorRate, RateLimitRate: fw.RateLimitRate, RetryAfter: time.Duration(fw.RetryAfterSeconds) * time.Second,
				Latency: time.Duration(fw.LatencyMs) * time.Millisecond, AnswerLatency: time.Duration(fw.AnswerLatencyMs) * time.Millisecond,
				ErrorDetail: fw.ErrorDetail,
			})
			w.WriteHeader(http.StatusNoContent)
		})
	e.mux.HandleFunc("PUT /_sim/faults", setFaults)
	e.mux.HandleFunc("POST /_sim/faults", setFaults)
	e.mux.HandleFunc("POST /_sim/users", adminCommand("username and password are required",
		func(req *userRequest) bool { return req.Username != "" && req.Password != "" },
		func(w http.ResponseWriter, _ *http.Request, req *userRequest) {
			err := e.CreateUser(User{Username: req.Username, Password: req.Password, MFACode: req.MFACode, Balances: req.Balances})
			if errors.Is(err, ErrUserExists) {
				adminError(w, http.StatusConflict, "user exists")
				return
			} else if err != nil {
				adminError(w, http.StatusBadRequest, "invalid user")
				return
			}
			writeJSON(w, http.StatusCreated, map[string]string{"username": req.Username})
		}))
	e.mux.HandleFunc("GET /_sim/users/{username}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := e.Balances(r.PathValue("username"))
		if !ok {
			adminError(w, http.StatusNotFound, "unknown user")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"username": r.PathValue("username"), "balances": b})
	})
	e.mux.HandleFunc("POST /_sim/users/{username}/revoke", func(w http.ResponseWriter, r *http.Request) {
		n, err := e.RevokeUserGrants(r.PathValue("username"))
		if err != nil {
			adminError(w, http.StatusNotFound, "unknown user")
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	})
	e.mux.HandleFunc("POST /_sim/users/{username}/password", adminCommand("password is required",
		func(req *passwordRequest) bool { return req.Password != "" },
		func(w http.ResponseWriter, r *http.Request, req *passwordRequest) {
			if err := e.ChangePassword(r.PathValue("username"), req.Password); err != nil {
				adminError(w, http.StatusNotFound, "unknown user")
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	e.mux.HandleFunc("POST /_sim/grants", adminCommand("username is required",
		func(req *grantRequest) bool { return req.Username != "" },
		func(w http.ResponseWriter, _ *http.Request, req *grantRequest) {
			tr, err := e.MintGrant(req.Username)
			if err != nil {
				adminError(w, http.StatusBadRequest, "cannot mint grant")
				return
			}
			writeJSON(w, http.StatusOK, tr)
		}))
	e.mux.HandleFunc("POST /_sim/apikeys", adminCommand("username is required",
		func(req *apiKeyRequest) bool { return req.Username != "" },
		func(w http.ResponseWriter, _ *http.Request, req *apiKeyRequest) {
			k, err := e.CreateAPIKey(req.Username, APIKeyPermissions{Withdrawals: req.Withdrawals, Trading: req.Trading, TrustedIPs: req.TrustedIPs})
			if err != nil {
				adminError(w, http.StatusBadRequest, err.Error())
				return
			}
			writeJSON(w, http.StatusCreated, k)
		}))
	e.mux.HandleFunc("POST /_sim/users/{username}/deposit", adminCommand("currency, network and a positive amount are required",
		func(req *depositRequest) bool { return req.Amount > 0 },
		func(w http.ResponseWriter, r *http.Request, req *depositRequest) {
			if err := e.Deposit(r.PathValue("username"), req.Currency, req.Network, req.Amount); err != nil {
				adminError(w, http.StatusBadRequest, err.Error())
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	e.mux.HandleFunc("POST /_sim/expire", func(w http.ResponseWriter, _ *http.Request) {
		e.ExpireAccessTokens()
		w.WriteHeader(http.StatusNoContent)
	})
}

// The bodies of the admin commands.
type (
	userRequest struct {
		Username string             `json:"username"`
		Password string             `json:"password"`
		MFACode  string             `json:"mfaCode"`
		Balances map[string]float64 `json:"balances"`
	}
	passwordRequest struct {
		Password string `json:"password"`
	}
	grantRequest struct {
		Username string `json:"username"`
	}
	apiKeyRequest struct {
		Username    string   `json:"username"`
		Withdrawals bool     `json:"withdrawals"`
		Trading     bool     `json:"trading"`
		TrustedIPs  []string `json:"trustedIps"`
	}
	depositRequest struct {
		Currency string  `json:"currency"`
		Network  string  `json:"network"`
		Amount   float64 `json:"amount"`
	}
)

// adminCommand is the handler of an admin command whose JSON body is a T: it answers
// 400 with invalid when the body does not decode or valid rejects it, and leaves the
// rest to run.
func adminCommand[T any](invalid string, valid func(*T) bool, run func(http.ResponseWriter, *http.Request, *T)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req T
		if !readJSON(r, &req) || !valid(&req) {
			adminError(w, http.StatusBadRequest, invalid)
			return
		}
		run(w, r, &req)
	}
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
