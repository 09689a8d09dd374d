package console

import (
	"crypto/ed25519"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/i18n"
	"github.com/drillctl/drillctl/playbooks"
)

//go:embed templates/*.html assets/*
var embedded embed.FS

// DefaultAddr is where `drillctl dev` serves the console.
const DefaultAddr = "127.0.0.1:8235"

// Config is what a console serves and how.
type Config struct {
	// Backend reaches Temporal (Temporal implements it).
	Backend Backend
	// Evidence is the evidence store the Evidence and Register pages read.
	Evidence *evidence.Store
	// PublicKey checks the bundles' signatures; without it a signed bundle
	// shows as signed by the key its manifest names, not verified.
	PublicKey ed25519.PublicKey
	// Key is the console's secret (acklink.LoadOrCreateKey): it signs the
	// sessions and the sign-in links. Required.
	Key []byte
	// PublicURL is the console's address as people reach it, for the
	// sign-in links and the OpenID Connect redirect (http://127.0.0.1:8235).
	PublicURL string
	// Playbooks are the playbooks people may start drills of from the
	// console; their contacts and starters may also sign in.
	Playbooks []*playbooks.Playbook
	// PlaybooksDir is the folder the playbooks came from, when they did:
	// the register reads it to see changes since a playbook's last pass.
	PlaybooksDir string
	// Viewers may sign in and read, beyond the playbooks' people
	// (the playbook language has no viewers: list yet).
	Viewers []string
	// OIDC, when set, signs people in with OpenID Connect too.
	OIDC *OIDCConfig
	// Log receives the sign-in links asked for on the sign-in page: the
	// console's stand-in for a person's paging channel.
	Log io.Writer
	// Version is drillctl's version, recorded in the drills it starts.
	Version string
	// SignInTTL and SessionTTL default to DefaultSignInTTL and
	// DefaultSessionTTL.
	SignInTTL, SessionTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Server serves the console.
type Server struct {
	cfg   Config
	keys  keys
	used  usedTokens
	pages map[string]*pageTemplate
	oidc  *oidcFlow
	mux   *http.ServeMux
}

// New checks the configuration and builds the console.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("console: no Temporal backend")
	}
	if len(cfg.Key) < 16 {
		return nil, errors.New("console: a key of 16 bytes or more is required")
	}
	if cfg.Evidence == nil {
		return nil, errors.New("console: no evidence store")
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + DefaultAddr
	}
	if _, err := url.Parse(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("console: public URL %q: %w", cfg.PublicURL, err)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.SignInTTL <= 0 {
		cfg.SignInTTL = DefaultSignInTTL
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	s := &Server{cfg: cfg, keys: deriveKeys(cfg.Key)}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if cfg.OIDC != nil {
		s.oidc = newOIDCFlow(*cfg.OIDC, cfg.PublicURL)
	}
	s.routes()
	return s, nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // sign-in links carry their token in the path
	h.Set("X-Frame-Options", "SAMEORIGIN")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	s.mux.ServeHTTP(w, r)
}

// routes registers every page and action.
func (s *Server) routes() {
	m := http.NewServeMux()
	assets, _ := fs.Sub(embedded, "assets")
	m.Handle("GET /assets/", http.StripPrefix("/assets/", cacheFor(http.FileServerFS(assets))))
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/assets/favicon.svg", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/drills", http.StatusSeeOther) })

	m.HandleFunc("GET /signin", s.signInPage)
	m.HandleFunc("POST /signin", s.requestLink)
	m.HandleFunc("GET /signin/{token}", s.confirmLink)
	m.HandleFunc("POST /signin/{token}", s.useLink)
	m.HandleFunc("GET /auth/oidc", s.oidcLogin)
	m.HandleFunc("GET /auth/oidc/callback", s.oidcCallback)
	m.HandleFunc("POST /signout", s.act(func(w http.ResponseWriter, r *http.Request, _ *session) {
		clearSession(w)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	}))

	m.HandleFunc("GET /drills", s.read(s.drillsPage))
	m.HandleFunc("POST /drills", s.act(s.startDrill))
	m.HandleFunc("GET /drills/{id}", s.read(s.drillPage))
	m.HandleFunc("GET /drills/{id}/live", s.read(s.drillLive))
	m.HandleFunc("POST /drills/{id}/approve", s.act(s.approve))
	m.HandleFunc("POST /drills/{id}/ack", s.act(s.ack))
	m.HandleFunc("POST /drills/{id}/abort", s.act(s.abort))

	m.HandleFunc("GET /evidence", s.read(s.evidencePage))
	m.HandleFunc("GET /evidence/{id}", s.read(s.bundlePage))
	m.HandleFunc("GET /evidence/{id}/report.html", s.read(s.bundleReport))
	m.HandleFunc("GET /evidence/{id}/report.pdf", s.read(s.bundlePDF))
	m.HandleFunc("GET /evidence/{id}/bundle.tar.gz", s.read(s.bundleArchive))
	m.HandleFunc("GET /register", s.read(s.registerPage))

	m.HandleFunc("GET /schedules", s.read(s.schedulesPage))
	m.HandleFunc("POST /schedules/{name}/pause", s.act(s.pauseSchedule))
	m.HandleFunc("POST /schedules/{name}/unpause", s.act(s.pauseSchedule))
	m.HandleFunc("POST /schedules/{name}/skip", s.act(s.skipDate))
	m.HandleFunc("POST /schedules/{name}/unskip", s.act(s.skipDate))
	s.mux = m
}

func cacheFor(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		h.ServeHTTP(w, r)
	})
}

// read wraps a page that needs a signed-in person: others are sent to the
// sign-in page (or get 401 when a script asked).
func (s *Server) read(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessionOf(r)
		if sess == nil {
			if r.Header.Get("Accept") == "application/json" {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, sess)
	}
}

// act wraps an action: a signed-in person and the session's CSRF token,
// else 403. Each action checks the person's role itself.
func (s *Server) act(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		sess := s.sessionOf(r)
		if sess == nil {
			s.fail(w, r, nil, http.StatusForbidden, s.locale(w, r).T("console.err.signedOut"))
			return
		}
		if !s.checkCSRF(r, sess) {
			s.fail(w, r, sess, http.StatusForbidden, s.locale(w, r).T("console.err.csrf"))
			return
		}
		h(w, r, sess)
	}
}

// fail answers an error page with its status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, code int, msg string) {
	s.render(w, r, sess, code, "error", "console.err.title", errorView{Code: code, Message: msg, Back: backURL(r)})
}

// errorView is the error page's data.
type errorView struct {
	Code    int
	Message string
	Back    string
}

// backURL is a same-site page to go back to after an action: the form's
// "back" field when it is a local path, else the drills.
func backURL(r *http.Request) string {
	if b := r.FormValue("back"); strings.HasPrefix(b, "/") && !strings.HasPrefix(b, "//") && !strings.Contains(b, "\\") {
		return b
	}
	return "/drills"
}

// locale is the viewer's language: ?lang= (remembered in a cookie), else
// the cookie, else the browser's Accept-Language, else English.
func (s *Server) locale(w http.ResponseWriter, r *http.Request) i18n.Locale {
	if q := r.URL.Query().Get("lang"); q != "" {
		if l, err := i18n.Parse(q); err == nil {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l.String(), Path: "/", MaxAge: 365 * 24 * 3600,
				Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
			return l
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, err := i18n.Parse(c.Value); err == nil {
			return l
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}
