package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/drillctl/drillctl/acklink"
)

// Cookie names.
const (
	sessionCookie = "drillctl_session"
	langCookie    = "drillctl_lang"
	oidcCookie    = "drillctl_oidc"
)

// signInStep marks a sign-in token, so that no ack link (made with another
// key anyway) can ever pass for one, and the other way round.
const signInStep = "console:sign-in"

// Defaults of Config.
const (
	DefaultSignInTTL  = 15 * time.Minute
	DefaultSessionTTL = 12 * time.Hour
)

// keys are the console's secrets, each derived from Config.Key for one use.
type keys struct {
	session, csrf, signIn, oidc []byte
}

func deriveKeys(master []byte) keys {
	d := func(use string) []byte {
		h := hmac.New(sha256.New, master)
		h.Write([]byte("drillctl console " + use))
		return h.Sum(nil)
	}
	return keys{session: d("session"), csrf: d("csrf"), signIn: d("sign-in"), oidc: d("oidc")}
}

// session is who is signed in, how, and until when. It travels in the
// session cookie, signed.
type session struct {
	Name    string    `json:"n"`
	Via     string    `json:"v"` // link or oidc
	ID      string    `json:"i"` // random; the CSRF token is derived from it
	Expires time.Time `json:"e"`
}

// sealJSON returns base64url(JSON(v)) "." base64url(HMAC(key, that)).
func sealJSON(key []byte, v any) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(macOf(key, payload)), nil
}

// openJSON checks what sealJSON made and decodes it into v.
func openJSON(key []byte, s string, v any) error {
	payload, sig, ok := strings.Cut(s, ".")
	if !ok {
		return errors.New("malformed")
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, macOf(key, payload)) {
		return errors.New("bad signature")
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return fmt.Errorf("malformed: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("malformed: %w", err)
	}
	return nil
}

func macOf(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

func randomID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setSession signs in name for the session's lifetime.
func (s *Server) setSession(w http.ResponseWriter, name, via string) error {
	sess := session{Name: name, Via: via, ID: randomID(), Expires: s.now().Add(s.cfg.SessionTTL)}
	v, err := sealJSON(s.keys.session, sess)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/", Expires: sess.Expires,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return nil
}

// clearSession signs out.
func clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// sessionOf returns the request's valid session, or nil.
func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	var sess session
	if openJSON(s.keys.session, c.Value, &sess) != nil || sess.Name == "" || !s.now().Before(sess.Expires) {
		return nil
	}
	return &sess
}

// csrfToken is the session's CSRF token: every form of the console carries
// it, and every POST is refused without it.
func (s *Server) csrfToken(sess *session) string {
	if sess == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(macOf(s.keys.csrf, sess.ID))
}

// checkCSRF reports whether a POST carries the session's CSRF token, in the
// form field csrf or the X-CSRF-Token header.
func (s *Server) checkCSRF(r *http.Request, sess *session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	want := s.csrfToken(sess)
	return got != "" && want != "" && hmac.Equal([]byte(got), []byte(want))
}

// SignInLink makes a one-time sign-in link for name under base (the
// console's public URL), valid for ttl, signed with the console key: what
// `drillctl console link --as NAME` prints and what the sign-in page sends
// to the person's channel.
func SignInLink(key []byte, base, name string, ttl time.Duration, now time.Time) string {
	tok := acklink.Sign(deriveKeys(key).signIn, acklink.Token{Step: signInStep, Contact: name, Expires: now.Add(ttl).UTC()})
	return strings.TrimRight(base, "/") + "/signin/" + tok
}

// usedTokens remembers the sign-in tokens already used until they expire,
// so a link signs in once. A restart forgets them; links live minutes.
type usedTokens struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// use marks a nonce used; it reports false when it already was.
func (u *usedTokens) use(nonce string, expires, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]time.Time{}
	}
	for n, exp := range u.seen {
		if now.After(exp) {
			delete(u.seen, n)
		}
	}
	if _, ok := u.seen[nonce]; ok {
		return false
	}
	u.seen[nonce] = expires
	return true
}

// verifySignIn checks a sign-in token and returns the name it signs in.
func (s *Server) verifySignIn(token string) (acklink.Token, error) {
	t, err := acklink.Verify(s.keys.signIn, token, s.now())
	if err != nil {
		return t, err
	}
	if t.Step != signInStep || t.Contact == "" {
		return t, acklink.ErrMalformed
	}
	return t, nil
}
