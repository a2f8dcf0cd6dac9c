package exchangesim

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"
)

// Per-grant bounds keep memory flat however many refreshes a benchmark pushes through:
// a grant remembers its newest access tokens and its most recently used refresh tokens
// (for reuse detection). An access token pushed out of the window stops working; a used
// refresh token pushed out is simply unknown (invalid_grant without reuse detection).
const (
	liveAccessTokensPerGrant  = 4
	usedRefreshTokensPerGrant = 16
)

// tokenKey is the SHA-256 of a token: tokens are looked up by digest, so the map never
// compares secret bytes directly and the plaintext is not kept.
type tokenKey [32]byte

func keyOf(token string) tokenKey { return tokenKey(digest(token)) }

type tokenKind uint8

const (
	kindAccess tokenKind = iota + 1
	kindRefresh
)

// grant is what a user's consent (or login) created: a family of access and refresh
// tokens that live and die together.
type grant struct {
	id        string
	user      *user
	clientID  string
	scope     string
	epoch     int64 // user's credential epoch when granted
	revoked   bool
	access    []tokenKey // newest last
	refresh   tokenKey   // current refresh token; zero if none
	used      []tokenKey // used refresh tokens, newest last
	createdAt time.Time
}

type tokenRecord struct {
	grant     *grant
	kind      tokenKind
	seq       uint64    // issue number (issueOrder), for "expire everything issued so far"
	expiresAt time.Time // zero: never
	used      bool      // refresh tokens: already exchanged
}

// authCode is a pending authorization code.
type authCode struct {
	user          *user
	clientID      string
	redirectURI   string
	scope         string
	challenge     string
	expiresAt     time.Time
	used          bool
	grantFromCode *grant // set once exchanged, revoked if the code is replayed
}

// issueOrder numbers what a store issues (tokens, API keys), so that everything issued
// so far can be retired at once (ExpireAccessTokens).
type issueOrder struct {
	last    atomic.Uint64 // the number given last
	retired atomic.Uint64 // the numbers up to this one are retired
}

// next is the number of a new item.
func (o *issueOrder) next() uint64 { return o.last.Add(1) }

// retireAll retires every number given so far.
func (o *issueOrder) retireAll() {
	last := o.last.Load()
	for {
		r := o.retired.Load()
		if r >= last || o.retired.CompareAndSwap(r, last) {
			return
		}
	}
}

// isRetired reports whether the item numbered n was retired.
func (o *issueOrder) isRetired(n uint64) bool { return n <= o.retired.Load() }

// grantStore holds every token of an exchange behind one RWMutex: API calls take the
// read lock, issuing and refreshing the write lock.
type grantStore struct {
	observe func(string) // Config.OnIssue; nil when unset

	mu     sync.RWMutex
	tokens map[tokenKey]*tokenRecord
	codes  map[tokenKey]*authCode
	byUser map[*user]map[*grant]struct{}
	order  issueOrder // expiring access tokens whose number it retired are expired
	live   int        // grants not revoked
}

func newGrantStore() *grantStore {
	return &grantStore{
		tokens: make(map[tokenKey]*tokenRecord),
		codes:  make(map[tokenKey]*authCode),
		byUser: make(map[*user]map[*grant]struct{}),
	}
}

// newToken issues an opaque token and shows it to the OnIssue observer.
func (s *grantStore) newToken() string {
	t := newOpaqueToken()
	if s.observe != nil {
		s.observe(t)
	}
	return t
}

func newOpaqueToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// issued is the plaintext of newly issued tokens.
type issued struct {
	access     string
	refresh    string // empty if none
	accessTTL  time.Duration
	refreshTTL time.Duration
	scope      string
}

// lifetimes says how long new tokens live.
type lifetimes struct {
	access      time.Duration // NoExpiry: never
	refresh     time.Duration
	withRefresh bool
}

func expiryAt(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

// newGrant creates a grant for u and issues its first tokens.
func (s *grantStore) newGrant(u *user, clientID, scope string, now time.Time, lt lifetimes) (*grant, issued) {
	out := issued{access: s.newToken(), accessTTL: lt.access, refreshTTL: lt.refresh, scope: scope}
	if lt.withRefresh {
		out.refresh = s.newToken()
	}
	g := &grant{id: uuidLike(), user: u, clientID: clientID, scope: scope, epoch: u.credentialEpoch.Load(), createdAt: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.byUser[u]
	if set == nil {
		set = make(map[*grant]struct{})
		s.byUser[u] = set
	}
	set[g] = struct{}{}
	s.live++
	s.addTokensLocked(g, out, now, lt)
	return g, out
}

func (s *grantStore) addTokensLocked(g *grant, t issued, now time.Time, lt lifetimes) {
	seq := s.order.next()
	ak := keyOf(t.access)
	s.tokens[ak] = &tokenRecord{grant: g, kind: kindAccess, seq: seq, expiresAt: expiryAt(now, lt.access)}
	g.access = append(g.access, ak)
	if len(g.access) > liveAccessTokensPerGrant {
		delete(s.tokens, g.access[0])
		g.access = append(g.access[:0], g.access[1:]...)
	}
	if t.refresh != "" {
		rk := keyOf(t.refresh)
		s.tokens[rk] = &tokenRecord{grant: g, kind: kindRefresh, seq: seq, expiresAt: expiryAt(now, lt.refresh)}
		g.refresh = rk
	}
}

// tokenProblem is why a token was refused, as the short code the API answers with.
type tokenProblem string

const (
	tokenOK      tokenProblem = ""
	tokenInvalid tokenProblem = "invalid_token"
	tokenExpired tokenProblem = "expired_token"
	tokenRevoked tokenProblem = "revoked_token"
)

// authenticate resolves an access token to its grant.
func (s *grantStore) authenticate(token string, now time.Time, killOnPasswordChange bool) (*grant, tokenProblem) {
	if token == "" {
		return nil, tokenInvalid
	}
	k := keyOf(token)
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.tokens[k]
	if !ok || rec.kind != kindAccess {
		return nil, tokenInvalid
	}
	g := rec.grant
	switch {
	case g.revoked:
		return nil, tokenRevoked
	case killOnPasswordChange && g.epoch != g.user.credentialEpoch.Load():
		return nil, tokenRevoked
	case !rec.expiresAt.IsZero() && (s.order.isRetired(rec.seq) || !now.Before(rec.expiresAt)):
		return nil, tokenExpired
	}
	return g, tokenOK
}

// refreshOutcome is the result of presenting a refresh token.
type refreshOutcome int

const (
	refreshRotated refreshOutcome = iota + 1
	refreshInvalid                // unknown, expired, wrong client, or grant revoked
	refreshReused                 // already used: the whole grant was revoked now
)

// rotate exchanges a refresh token for new tokens, invalidating it. A refresh token
// presented a second time revokes its grant (RFC 9700 reuse detection).
func (s *grantStore) rotate(refreshToken, clientID string, now time.Time, lt lifetimes, killOnPasswordChange bool) (issued, refreshOutcome) {
	next := issued{access: s.newToken(), refresh: s.newToken(), accessTTL: lt.access, refreshTTL: lt.refresh}
	k := keyOf(refreshToken)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.tokens[k]
	if !ok || rec.kind != kindRefresh || rec.grant.clientID != clientID {
		return issued{}, refreshInvalid
	}
	g := rec.grant
	if g.revoked {
		return issued{}, refreshInvalid
	}
	if rec.used {
		s.revokeLocked(g)
		return issued{}, refreshReused
	}
	if (!rec.expiresAt.IsZero() && !now.Before(rec.expiresAt)) ||
		(killOnPasswordChange && g.epoch != g.user.credentialEpoch.Load()) {
		return issued{}, refreshInvalid
	}
	rec.used = true
	g.used = append(g.used, k)
	if len(g.used) > usedRefreshTokensPerGrant {
		delete(s.tokens, g.used[0])
		g.used = append(g.used[:0], g.used[1:]...)
	}
	next.scope = g.scope
	s.addTokensLocked(g, next, now, lt)
	return next, refreshRotated
}

// revokeLocked marks g revoked. Its token records stay so that presenting them answers
// "revoked" rather than "unknown".
func (s *grantStore) revokeLocked(g *grant) bool {
	if g.revoked {
		return false
	}
	g.revoked = true
	s.live--
	if set := s.byUser[g.user]; set != nil {
		delete(set, g)
		if len(set) == 0 {
			delete(s.byUser, g.user)
		}
	}
	return true
}

// revokeToken revokes the grant a token belongs to, if the token is the client's.
// It reports whether a live grant was revoked.
func (s *grantStore) revokeToken(token, clientID string) bool {
	k := keyOf(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.tokens[k]
	if !ok || rec.grant.clientID != clientID {
		return false
	}
	return s.revokeLocked(rec.grant)
}

// revokeUser revokes every live grant of u and returns how many.
func (s *grantStore) revokeUser(u *user) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for g := range s.byUser[u] {
		if s.revokeLocked(g) {
			n++
		}
	}
	return n
}

// addCode stores a new authorization code.
func (s *grantStore) addCode(code string, c *authCode) {
	s.mu.Lock()
	s.codes[keyOf(code)] = c
	s.mu.Unlock()
}

// codeProblem says why a code exchange failed.
type codeProblem int

const (
	codeOK codeProblem = iota
	codeInvalid
	codeReplayed
)

// redeemCode consumes an authorization code once. check validates the code's binding
// (client, redirect URI, PKCE) and runs under the lock. A replayed code revokes the grant
// it produced (RFC 6749 section 4.1.2).
func (s *grantStore) redeemCode(code string, now time.Time, check func(*authCode) bool) (*authCode, codeProblem) {
	k := keyOf(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[k]
	if !ok {
		return nil, codeInvalid
	}
	if c.used {
		if c.grantFromCode != nil {
			s.revokeLocked(c.grantFromCode)
		}
		return nil, codeReplayed
	}
	if !now.Before(c.expiresAt) || !check(c) {
		delete(s.codes, k)
		return nil, codeInvalid
	}
	c.used = true
	return c, codeOK
}

// bindCodeGrant records the grant a code produced and forgets expired codes.
func (s *grantStore) bindCodeGrant(c *authCode, g *grant, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.grantFromCode = g
	if len(s.codes) > 1024 {
		for k, old := range s.codes {
			if now.Sub(old.expiresAt) > time.Hour {
				delete(s.codes, k)
			}
		}
	}
}

// liveGrants counts unrevoked grants.
func (s *grantStore) liveGrants() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.live
}
