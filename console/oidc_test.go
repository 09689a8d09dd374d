package console

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIssuer is an OpenID Connect provider in a test: discovery, keys, an
// authorization endpoint that signs in whoever the test says at once, and
// a token endpoint that checks the code, the client and PKCE.
type fakeIssuer struct {
	t        *testing.T
	srv      *httptest.Server
	key      *rsa.PrivateKey
	mu       sync.Mutex
	email    string
	verified bool
	codes    map[string]url.Values // code → the authorization request
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f := &fakeIssuer{t: t, key: key, verified: true, codes: map[string]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": f.srv.URL, "authorization_endpoint": f.srv.URL + "/authorize",
			"token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := randomID()
		f.mu.Lock()
		f.codes[code] = q
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", f.token)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) token(w http.ResponseWriter, r *http.Request) {
	require.NoError(f.t, r.ParseForm())
	f.mu.Lock()
	auth, ok := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code"))
	email, verified := f.email, f.verified
	f.mu.Unlock()
	id, secret, _ := r.BasicAuth()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || id != "console" || secret != "s3cret" ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != auth.Get("code_challenge") {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: f.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	require.NoError(f.t, err)
	claims, _ := json.Marshal(map[string]any{"iss": f.srv.URL, "sub": "u-1", "aud": "console", "iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Hour).Unix(), "nonce": auth.Get("nonce"), "email": email, "email_verified": verified})
	jws, err := signer.Sign(claims)
	require.NoError(f.t, err)
	idToken, err := jws.CompactSerialize()
	require.NoError(f.t, err)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
}

// signInWithOIDC walks a browser through the flow and returns the
// console's last answer.
func signInWithOIDC(t *testing.T, tc *testConsole, c *http.Client, tamper func(callback string) string) *http.Response {
	t.Helper()
	resp, err := c.Get(tc.ts.URL + "/auth/oidc?next=/schedules")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	resp, err = c.Get(resp.Header.Get("Location")) // the provider's sign-in page
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	callback := resp.Header.Get("Location")
	if tamper != nil {
		callback = tamper(callback)
	}
	resp, err = c.Get(callback)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func oidcConsole(t *testing.T) (*testConsole, *fakeIssuer) {
	iss := newFakeIssuer(t)
	tc := newTestConsole(t, func(c *Config) {
		c.OIDC = &OIDCConfig{Issuer: iss.srv.URL, ClientID: "console", ClientSecret: "s3cret"}
	})
	return tc, iss
}

func TestOIDC_ContactSignsInByTheirVerifiedEmail(t *testing.T) {
	tc, iss := oidcConsole(t)
	iss.email = "Bob@Example.com"
	_, page := tc.get(tc.client(), "/signin")
	assert.Contains(t, page, `href="/auth/oidc?next=%2fdrills"`)
	c := tc.client()
	resp := signInWithOIDC(t, tc, c, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/schedules", resp.Header.Get("Location"))
	_, page = tc.get(c, "/drills")
	assert.Contains(t, page, "Signed in as bob")
}

func TestOIDC_StrangersUnverifiedEmailsAndForgedStatesAreRefused(t *testing.T) {
	tc, iss := oidcConsole(t)
	iss.email = "mallory@example.com"
	resp := signInWithOIDC(t, tc, tc.client(), nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the provider knows mallory; the console does not")

	iss.email, iss.verified = "bob@example.com", false
	resp = signInWithOIDC(t, tc, tc.client(), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "an address the provider has not verified")

	iss.verified = true
	resp = signInWithOIDC(t, tc, tc.client(), func(cb string) string {
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", "forged")
		u.RawQuery = q.Encode()
		return u.String()
	})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a state not of this browser's sign-in")

	c := tc.client()
	resp = signInWithOIDC(t, tc, c, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "and the real thing works")
}
