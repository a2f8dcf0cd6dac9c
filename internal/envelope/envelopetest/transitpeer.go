package envelopetest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TransitPeer is a test peer speaking the HTTP API of the transit secrets engine of
// HashiCorp Vault (and OpenBao, which keeps that API), for machines where no vault or bao
// binary can be had (see VaultEnv). Its behaviour is transcribed from the documentation,
// not copied from Vault's code:
//
//   - Transit API: https://developer.hashicorp.com/vault/api-docs/secret/transit —
//     POST /v1/<mount>/keys/<name> (create, "type" default aes256-gcm96), GET
//     /v1/<mount>/keys/<name> (type, keys, latest_version, min_decryption_version),
//     POST /v1/<mount>/keys/<name>/rotate, POST /v1/<mount>/keys/<name>/config
//     (min_decryption_version), POST /v1/<mount>/encrypt/<name> (base64 "plaintext",
//     base64 "associated_data" for AEAD keys; answers data.ciphertext
//     "vault:v<N>:<base64>" and data.key_version), POST /v1/<mount>/decrypt/<name>
//     (answers base64 data.plaintext), POST /v1/<mount>/rewrap/<name>.
//   - HTTP API overview: https://developer.hashicorp.com/vault/api-docs — the token in
//     the X-Vault-Token header, the namespace in X-Vault-Namespace, errors as
//     {"errors":["..."]} with 400 (invalid request), 403 (permission denied, also for a
//     missing or unknown token), 404 (invalid path; a GET of a missing key answers 404
//     with an empty errors list), 500 (internal error), 503 (sealed / down).
//   - POST /v1/sys/mounts/<path> {"type":"transit"} (api-docs/system/mounts), PUT
//     /v1/sys/policies/acl/<name> or /v1/sys/policy/<name> {"policy":"<HCL>"}
//     (api-docs/system/policies, api-docs/system/policy; only the
//     `path "<exact path>" { capabilities = [...] }` form is understood) and POST
//     /v1/auth/token/create {"policies":[...]} answering auth.client_token
//     (api-docs/auth/token), so the tests' operator side runs unchanged on a real server.
//
// Inside, each key version is a random AES-256 key and a ciphertext is base64 of the
// 12-byte GCM nonce followed by the sealed data and tag, so ciphertexts are opaque and
// bound to their associated data as Vault's aes256-gcm96 ones are. Other key types can
// be created (for the tests of type checks) but not used to encrypt.
type TransitPeer struct {
	Addr  string // http://127.0.0.1:port
	Token string // the root token

	srv *httptest.Server

	mu       sync.Mutex
	down     bool
	mounts   map[string]bool                // namespace + "|" + mount path
	keys     map[string]*peerKey            // namespace + "|" + mount + "/" + name
	policies map[string]map[string][]string // policy → path → capabilities
	tokens   map[string][]string            // token → policies
}

type peerKey struct {
	typ           string
	versions      [][]byte // versions[i] is version i+1
	created       []int64
	minDecryption int
}

// StartTransitPeer starts a TransitPeer on a free loopback port; it stops with the test.
func StartTransitPeer(t testing.TB) *TransitPeer {
	t.Helper()
	p := &TransitPeer{
		Token:    "hvs.peer-root-" + strconv.FormatUint(fnv([]byte(t.Name()+time.Now().String())), 36),
		mounts:   map[string]bool{},
		keys:     map[string]*peerKey{},
		policies: map[string]map[string][]string{},
		tokens:   map[string][]string{},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.Addr = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// SetDown makes the peer answer every request with 503 and Vault's sealed error, as a
// sealed or unavailable server does; SetDown(false) brings it back.
func (p *TransitPeer) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// Close stops the listener: later calls get connection refused.
func (p *TransitPeer) Close() { p.srv.Close() }

// Dev is the peer as a VaultDev: its address and root token.
func (p *TransitPeer) Dev() VaultDev { return VaultDev{Addr: p.Addr, Token: p.Token} }

// StartTransit returns a transit server for the tests: a real `vault server -dev` or
// `bao server -dev` when one is available (VaultEnv or the PATH), otherwise a
// TransitPeer. real says which.
func StartTransit(t testing.TB) (dev VaultDev, real bool) {
	t.Helper()
	if os.Getenv(VaultEnv) != "" {
		return StartVaultDev(t), true
	}
	for _, name := range []string{"vault", "bao"} {
		if _, err := exec.LookPath(name); err == nil {
			return StartVaultDev(t), true
		}
	}
	return StartTransitPeer(t).Dev(), false
}

func writeVaultError(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string][]string{"errors": msgs})
}

func writeVaultData(w http.ResponseWriter, data map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"request_id": "00000000-0000-0000-0000-000000000000", "lease_id": "", "renewable": false,
		"lease_duration": 0, "data": data, "wrap_info": nil, "warnings": nil, "auth": nil,
	})
}

// allowed reports whether token may use capability on path.
func (p *TransitPeer) allowed(token, path, capability string) bool {
	if token == p.Token {
		return true
	}
	pols, ok := p.tokens[token]
	if !ok {
		return false
	}
	for _, name := range pols {
		for _, c := range p.policies[name][path] {
			if c == capability || c == "sudo" && capability != "deny" {
				return true
			}
		}
	}
	return false
}

var peerPolicyRule = regexp.MustCompile(`path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}`)

func (p *TransitPeer) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		writeVaultError(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		writeVaultError(w, http.StatusNotFound)
		return
	}
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	ns := strings.Trim(r.Header.Get("X-Vault-Namespace"), "/")
	token := r.Header.Get("X-Vault-Token")
	var body map[string]any
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&body); err != nil && err.Error() != "EOF" {
			writeVaultError(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
			return
		}
	}
	capability := "read"
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		capability = "update"
	}
	if token == "" || !p.allowed(token, path, capability) {
		// Vault answers 403 for a missing, unknown or under-privileged token alike.
		writeVaultError(w, http.StatusForbidden, "permission denied")
		return
	}
	switch {
	case strings.HasPrefix(path, "sys/mounts/") && capability == "update":
		mount := strings.TrimPrefix(path, "sys/mounts/")
		if typ, _ := body["type"].(string); typ != "transit" {
			writeVaultError(w, http.StatusBadRequest, fmt.Sprintf("plugin not found in the catalog: %s", typ))
			return
		}
		if p.mounts[ns+"|"+mount] {
			writeVaultError(w, http.StatusBadRequest, fmt.Sprintf("path is already in use at %s/", mount))
			return
		}
		p.mounts[ns+"|"+mount] = true
		w.WriteHeader(http.StatusNoContent)
	case (strings.HasPrefix(path, "sys/policy/") || strings.HasPrefix(path, "sys/policies/acl/")) && capability == "update":
		text, _ := body["policy"].(string)
		rules := map[string][]string{}
		for _, m := range peerPolicyRule.FindAllStringSubmatch(text, -1) {
			for _, c := range strings.Split(m[2], ",") {
				if c = strings.Trim(strings.TrimSpace(c), `"`); c != "" {
					rules[m[1]] = append(rules[m[1]], c)
				}
			}
		}
		if len(rules) == 0 {
			writeVaultError(w, http.StatusBadRequest, "failed to parse policy")
			return
		}
		p.policies[path[strings.LastIndex(path, "/")+1:]] = rules
		w.WriteHeader(http.StatusNoContent)
	case path == "auth/token/create" && capability == "update":
		var pols []string
		if list, ok := body["policies"].([]any); ok {
			for _, v := range list {
				if s, ok := v.(string); ok {
					pols = append(pols, s)
				}
			}
		}
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		tok := "hvs." + base64.RawURLEncoding.EncodeToString(b)
		p.tokens[tok] = pols
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"data": nil, "warnings": nil,
			"auth": map[string]any{
				"client_token": tok, "policies": append([]string{"default"}, pols...),
				"token_policies": append([]string{"default"}, pols...), "lease_duration": 2764800, "renewable": true,
			},
		})
	default:
		p.serveTransit(w, ns, path, capability, body)
	}
}

// serveTransit handles <mount>/{keys,encrypt,decrypt,rewrap}/<name>[/rotate|/config].
func (p *TransitPeer) serveTransit(w http.ResponseWriter, ns, path, capability string, body map[string]any) {
	parts := strings.Split(path, "/")
	// Find the mount: the longest prefix that is a mounted transit engine.
	i := len(parts) - 1
	for ; i > 0 && !p.mounts[ns+"|"+strings.Join(parts[:i], "/")]; i-- {
	}
	if i == 0 || len(parts)-i < 2 {
		writeVaultError(w, http.StatusNotFound, "no handler for route \""+path+"\". route entry not found.")
		return
	}
	mount, op, name, rest := strings.Join(parts[:i], "/"), parts[i], parts[i+1], parts[i+2:]
	id := ns + "|" + mount + "/" + name
	k := p.keys[id]
	switch {
	case op == "keys" && len(rest) == 0 && capability == "read":
		if k == nil {
			writeVaultError(w, http.StatusNotFound) // a missing key reads as 404 with no errors
			return
		}
		writeVaultData(w, k.describe(name))
	case op == "keys" && len(rest) == 0:
		if k != nil {
			w.WriteHeader(http.StatusNoContent) // creating an existing key is a no-op
			return
		}
		typ, _ := body["type"].(string)
		if typ == "" {
			typ = "aes256-gcm96"
		}
		switch typ {
		case "aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "xchacha20-poly1305", "ed25519",
			"ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096", "hmac":
		default:
			writeVaultError(w, http.StatusBadRequest, fmt.Sprintf("unknown key type %q", typ))
			return
		}
		k = &peerKey{typ: typ, minDecryption: 1}
		k.rotate()
		p.keys[id] = k
		writeVaultData(w, k.describe(name))
	case op == "keys" && len(rest) == 1 && rest[0] == "rotate" && capability == "update":
		if k == nil {
			writeVaultError(w, http.StatusBadRequest, "key not found")
			return
		}
		k.rotate()
		writeVaultData(w, k.describe(name))
	case op == "keys" && len(rest) == 1 && rest[0] == "config" && capability == "update":
		if k == nil {
			writeVaultError(w, http.StatusBadRequest, "no existing key named "+name+" could be found")
			return
		}
		if v, ok := number(body["min_decryption_version"]); ok {
			if v < 0 || v > len(k.versions) {
				writeVaultError(w, http.StatusBadRequest, "cannot set min decryption version to a value greater than the latest version")
				return
			}
			if v > 0 {
				k.minDecryption = v
			}
		}
		writeVaultData(w, k.describe(name))
	case op == "encrypt" && len(rest) == 0 && capability == "update":
		if k == nil { // encrypt upserts a missing key (the docs' "upsert" behaviour)
			k = &peerKey{typ: "aes256-gcm96", minDecryption: 1}
			k.rotate()
			p.keys[id] = k
		}
		pt, err := b64Field(body, "plaintext")
		if err != nil {
			writeVaultError(w, http.StatusBadRequest, err.Error())
			return
		}
		ad, err := b64Field(body, "associated_data")
		if err != nil {
			writeVaultError(w, http.StatusBadRequest, err.Error())
			return
		}
		ver := len(k.versions)
		if v, ok := number(body["key_version"]); ok && v != 0 {
			if v < k.minDecryption || v > len(k.versions) {
				writeVaultError(w, http.StatusBadRequest, "requested version for encryption is less than the minimum encryption key version")
				return
			}
			ver = v
		}
		ct, err := k.seal(ver, pt, ad)
		if err != nil {
			writeVaultError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeVaultData(w, map[string]any{"ciphertext": ct, "key_version": ver})
	case (op == "decrypt" || op == "rewrap") && len(rest) == 0 && capability == "update":
		if k == nil {
			writeVaultError(w, http.StatusBadRequest, "encryption key not found")
			return
		}
		ct, _ := body["ciphertext"].(string)
		ad, err := b64Field(body, "associated_data")
		if err != nil {
			writeVaultError(w, http.StatusBadRequest, err.Error())
			return
		}
		pt, status, msg := k.open(ct, ad)
		if msg != "" {
			writeVaultError(w, status, msg)
			return
		}
		if op == "decrypt" {
			writeVaultData(w, map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)})
			return
		}
		out, err := k.seal(len(k.versions), pt, ad)
		if err != nil {
			writeVaultError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeVaultData(w, map[string]any{"ciphertext": out, "key_version": len(k.versions)})
	default:
		writeVaultError(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

func number(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	case json.Number:
		i, err := strconv.Atoi(string(n))
		return i, err == nil
	}
	return 0, false
}

func b64Field(body map[string]any, field string) ([]byte, error) {
	s, _ := body[field].(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("failed to base64-decode %s", field)
	}
	return b, nil
}

func (k *peerKey) rotate() {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	k.versions = append(k.versions, b)
	k.created = append(k.created, time.Now().Unix())
}

func (k *peerKey) describe(name string) map[string]any {
	keys := map[string]any{}
	for i, c := range k.created {
		keys[strconv.Itoa(i+1)] = c
	}
	aead := strings.Contains(k.typ, "gcm") || strings.Contains(k.typ, "chacha")
	return map[string]any{
		"name": name, "type": k.typ, "keys": keys, "latest_version": len(k.versions),
		"min_decryption_version": k.minDecryption, "min_encryption_version": 0,
		"supports_encryption": aead || strings.HasPrefix(k.typ, "rsa"), "supports_decryption": aead || strings.HasPrefix(k.typ, "rsa"),
		"derived": false, "exportable": false, "deletion_allowed": false,
	}
}

func (k *peerKey) gcm(version int) (cipher.AEAD, error) {
	if k.typ != "aes256-gcm96" {
		return nil, fmt.Errorf("key type %s is not supported by this test peer for encryption", k.typ)
	}
	block, err := aes.NewCipher(k.versions[version-1])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (k *peerKey) seal(version int, pt, ad []byte) (string, error) {
	g, err := k.gcm(version)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(nonce)
	return fmt.Sprintf("vault:v%d:%s", version, base64.StdEncoding.EncodeToString(g.Seal(nonce, nonce, pt, ad))), nil
}

// open returns the plaintext, or a status and Vault's message.
func (k *peerKey) open(ct string, ad []byte) ([]byte, int, string) {
	f := strings.SplitN(ct, ":", 3)
	if len(f) != 3 || f[0] != "vault" || !strings.HasPrefix(f[1], "v") {
		return nil, http.StatusBadRequest, "invalid ciphertext: no prefix"
	}
	v, err := strconv.Atoi(strings.TrimPrefix(f[1], "v"))
	if err != nil || v < 1 {
		return nil, http.StatusBadRequest, "invalid ciphertext: version number could not be decoded"
	}
	if v < k.minDecryption {
		return nil, http.StatusBadRequest, "ciphertext or signature version is disallowed by policy (too old)"
	}
	if v > len(k.versions) {
		return nil, http.StatusBadRequest, "invalid ciphertext: version is too new"
	}
	raw, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil {
		return nil, http.StatusBadRequest, "invalid ciphertext: could not decode base64"
	}
	g, err := k.gcm(v)
	if err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	if len(raw) < g.NonceSize() {
		return nil, http.StatusBadRequest, "invalid ciphertext: nonce length"
	}
	pt, err := g.Open(nil, raw[:g.NonceSize()], raw[g.NonceSize():], ad)
	if err != nil {
		return nil, http.StatusBadRequest, "cipher: message authentication failed"
	}
	return pt, 0, ""
}
