// Package acklink makes the one-click acknowledgement links that pages
// carry: a signed, expiring, single-use token per contact and escalation
// level, and the HTTP handler that turns a click into an acknowledgement.
//
// The handler never acknowledges on GET: chat apps and mail scanners fetch
// links to preview them, so GET shows a confirmation page whose button
// POSTs. The workflow refuses a second acknowledgement too, so a restart
// of the handler (which forgets used tokens) cannot make a link count twice.
package acklink

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Token says who may acknowledge what, until when.
type Token struct {
	DrillID string    `json:"d"`
	Step    string    `json:"s"`
	Contact string    `json:"c"`
	Level   int       `json:"l"`
	Expires time.Time `json:"e"`
	Nonce   string    `json:"n"`
	// Channel is the kind of channel that carried the link (webhook, slack,
	// dingtalk, pagerduty, email), so the record says which one was used.
	Channel string `json:"ch,omitempty"`
}

// Errors Verify returns.
var (
	ErrMalformed = errors.New("the link is damaged")
	ErrSignature = errors.New("the link was not made by this drillctl")
	ErrExpired   = errors.New("the link has expired: the page went on to the next level")
)

// Sign makes a token's text: base64url(JSON) "." base64url(HMAC-SHA256).
func Sign(key []byte, t Token) string {
	if t.Nonce == "" {
		b := make([]byte, 9)
		rand.Read(b)
		t.Nonce = base64.RawURLEncoding.EncodeToString(b)
	}
	body, _ := json.Marshal(t)
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload))
}

func mac(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// Verify checks a token's signature and expiry.
func Verify(key []byte, s string, now time.Time) (Token, error) {
	payload, sig, ok := strings.Cut(s, ".")
	if !ok {
		return Token{}, ErrMalformed
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return Token{}, ErrMalformed
	}
	if !hmac.Equal(got, mac(key, payload)) {
		return Token{}, ErrSignature
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Token{}, ErrMalformed
	}
	var t Token
	if err := json.Unmarshal(body, &t); err != nil {
		return Token{}, ErrMalformed
	}
	if !now.Before(t.Expires) {
		return t, ErrExpired
	}
	return t, nil
}

// URL is the link for a token under a base URL (http://host:port).
func URL(base, token string) string { return strings.TrimRight(base, "/") + "/ack/" + token }

// NewKey returns a fresh 32-byte key.
func NewKey() ([]byte, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}

// LoadOrCreateKey reads the hex key in path, creating it (mode 0600) when
// missing, so links stay valid across restarts.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 16 {
			return nil, fmt.Errorf("ack key %s: expected hex, 16 bytes or more", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return k, os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600)
}

// Acker acknowledges a page for a token (a Temporal Update, in drillctl).
type Acker interface {
	Ack(ctx context.Context, t Token, via string) error
}

// Handler serves GET and POST /ack/<token>.
func Handler(key []byte, acker Acker, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	h := &handler{key: key, acker: acker, now: now, used: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ack/{token}", h.confirm)
	mux.HandleFunc("POST /ack/{token}", h.ack)
	return mux
}

type handler struct {
	key   []byte
	acker Acker
	now   func() time.Time
	mu    sync.Mutex
	used  map[string]time.Time // nonce → expiry
}

var page = template.Must(template.New("ack").Parse(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>drillctl: {{.Title}}</title>
<style>body{font:16px/1.5 Helvetica,Arial,sans-serif;max-width:560px;margin:48px auto;padding:0 16px}
button{font-size:18px;padding:10px 24px;background:#1f6feb;color:#fff;border:0;border-radius:6px}
.err{color:#cf222e}</style></head><body><h1>{{.Title}}</h1><p{{if .Error}} class="err"{{end}}>{{.Text}}</p>
{{if .Form}}<form method="post"><button type="submit">Acknowledge as {{.Contact}}</button></form>{{end}}</body></html>`))

type pageData struct {
	Title, Text, Contact string
	Form, Error          bool
}

func render(w http.ResponseWriter, code int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	page.Execute(w, d)
}

func (h *handler) verify(w http.ResponseWriter, r *http.Request) (Token, bool) {
	t, err := Verify(h.key, r.PathValue("token"), h.now())
	switch {
	case errors.Is(err, ErrExpired):
		render(w, http.StatusGone, pageData{Title: "Link expired", Text: err.Error(), Error: true})
		return t, false
	case err != nil:
		render(w, http.StatusBadRequest, pageData{Title: "Bad link", Text: err.Error(), Error: true})
		return t, false
	}
	return t, true
}

// confirm shows what the link acknowledges, and a button; it acknowledges nothing.
func (h *handler) confirm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.verify(w, r)
	if !ok {
		return
	}
	render(w, http.StatusOK, pageData{Title: "Acknowledge the page",
		Text:    fmt.Sprintf("DR drill %s, step %s, level %d: you were paged as %s.", t.DrillID, t.Step, t.Level, t.Contact),
		Contact: t.Contact, Form: true})
}

func (h *handler) ack(w http.ResponseWriter, r *http.Request) {
	t, ok := h.verify(w, r)
	if !ok {
		return
	}
	h.mu.Lock()
	now := h.now()
	for n, exp := range h.used {
		if now.After(exp) {
			delete(h.used, n)
		}
	}
	_, seen := h.used[t.Nonce]
	if !seen {
		h.used[t.Nonce] = t.Expires
	}
	h.mu.Unlock()
	if seen {
		render(w, http.StatusConflict, pageData{Title: "Already used", Text: "This link has acknowledged the page already.", Error: true})
		return
	}
	if err := h.acker.Ack(r.Context(), t, "link"); err != nil {
		h.mu.Lock()
		delete(h.used, t.Nonce) // nothing was acknowledged: the link may be tried again
		h.mu.Unlock()
		render(w, http.StatusBadGateway, pageData{Title: "Not acknowledged", Text: err.Error(), Error: true})
		return
	}
	render(w, http.StatusOK, pageData{Title: "Acknowledged",
		Text: fmt.Sprintf("Acknowledged by %s for step %s at level %d of drill %s. Thank you.", t.Contact, t.Step, t.Level, t.DrillID)})
}
