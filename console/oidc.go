package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig signs people in with an OpenID Connect provider (the
// organisation's identity provider) in a real deployment.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (its discovery document is at
	// Issuer/.well-known/openid-configuration).
	Issuer       string
	ClientID     string
	ClientSecret string
	// Claim names the ID token claim that says who signed in (default
	// "email"). Its value is matched against the contacts' e-mail
	// addresses, then against the names of contacts, starters and viewers.
	// An e-mail address the provider has not verified is refused.
	Claim string
}

// oidcState is what the console remembers between sending a person to the
// provider and their return, in a short-lived signed cookie.
type oidcState struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"` // PKCE
	Next     string    `json:"x"`
	Expires  time.Time `json:"e"`
}

// oidcFlow runs the authorization code flow (with PKCE and a nonce).
type oidcFlow struct {
	cfg      OIDCConfig
	redirect string

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCFlow(cfg OIDCConfig, publicURL string) *oidcFlow {
	if cfg.Claim == "" {
		cfg.Claim = "email"
	}
	return &oidcFlow{cfg: cfg, redirect: publicURL + "/auth/oidc/callback"}
}

// setup discovers the provider once, at first use, so the console starts
// while the provider is away.
func (f *oidcFlow) setup(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.oauth != nil {
		return f.oauth, f.verifier, nil
	}
	p, err := oidc.NewProvider(ctx, f.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("OpenID Connect provider %s: %w", f.cfg.Issuer, err)
	}
	scopes := []string{oidc.ScopeOpenID, "profile"}
	if f.cfg.Claim == "email" {
		scopes = append(scopes, "email")
	}
	f.oauth = &oauth2.Config{ClientID: f.cfg.ClientID, ClientSecret: f.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: f.redirect, Scopes: scopes}
	f.verifier = p.Verifier(&oidc.Config{ClientID: f.cfg.ClientID})
	return f.oauth, f.verifier, nil
}

// oidcLogin sends the person to the provider.
func (s *Server) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		http.NotFound(w, r)
		return
	}
	oauth, _, err := s.oidc.setup(r.Context())
	if err != nil {
		s.fail(w, r, nil, http.StatusBadGateway, err.Error())
		return
	}
	st := oidcState{State: randomID(), Nonce: randomID(), Verifier: oauth2.GenerateVerifier(),
		Next: localPath(r.URL.Query().Get("next")), Expires: s.now().Add(10 * time.Minute)}
	v, err := sealJSON(s.keys.oidc, st)
	if err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, err.Error())
		return
	}
	// Lax, not Strict: the provider's redirect back is a navigation from
	// another site, which a Strict cookie would not follow.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: v, Path: "/auth/oidc", Expires: st.Expires,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// oidcCallback takes the provider's answer: it checks the state, trades the
// code for tokens, verifies the ID token (signature, issuer, audience,
// expiry, nonce) and signs in the person its claim names.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		http.NotFound(w, r)
		return
	}
	l := s.locale(w, r)
	name, next, err := s.oidcIdentity(r)
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, errNotAPerson) {
			code = http.StatusForbidden
		}
		s.fail(w, r, nil, code, l.T("console.signin.oidcFailed", err.Error()))
		return
	}
	if err := s.setSession(w, name, "oidc"); err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, err.Error())
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// errNotAPerson: the provider vouched for someone the console does not know.
var errNotAPerson = errors.New("not a person of this console (a contact or starter of a playbook, or a --viewers name)")

// oidcIdentity returns the person the provider's answer signs in.
func (s *Server) oidcIdentity(r *http.Request) (name, next string, err error) {
	c, err := r.Cookie(oidcCookie)
	if err != nil {
		return "", "", errors.New("no sign-in under way in this browser (start again)")
	}
	var st oidcState
	if err := openJSON(s.keys.oidc, c.Value, &st); err != nil || !s.now().Before(st.Expires) {
		return "", "", errors.New("the sign-in took too long or was tampered with (start again)")
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", "", fmt.Errorf("the provider said %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") == "" || q.Get("state") != st.State {
		return "", "", errors.New("the answer is not for this sign-in (state differs)")
	}
	oauth, verifier, err := s.oidc.setup(r.Context())
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	tok, err := oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return "", "", fmt.Errorf("trade the code for tokens: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", "", errors.New("the provider sent no ID token")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return "", "", fmt.Errorf("ID token: %w", err)
	}
	if idt.Nonce != st.Nonce {
		return "", "", errors.New("ID token: the nonce differs (a replayed token?)")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", "", fmt.Errorf("ID token claims: %w", err)
	}
	claim := s.oidc.cfg.Claim
	value, _ := claims[claim].(string)
	if value == "" {
		return "", "", fmt.Errorf("ID token: no %q claim", claim)
	}
	if claim == "email" {
		if verified, ok := claims["email_verified"].(bool); ok && !verified {
			return "", "", fmt.Errorf("the provider has not verified %s", value)
		}
	}
	who, ok := s.person(r.Context(), value, claim == "email")
	if !ok {
		return "", "", fmt.Errorf("%s: %w", value, errNotAPerson)
	}
	return who, st.Next, nil
}
