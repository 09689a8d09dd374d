package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/drillctl/drillctl/acklink"
	"github.com/drillctl/drillctl/playbooks"
)

// signInView is the sign-in page's data.
type signInView struct {
	Next    string
	Sent    string // the name a link was asked for
	OIDC    bool
	Confirm string // the name a link signs in, on its confirmation page
	Token   string
	Error   string
}

// localPath returns p when it is a path of this site, else "/drills".
func localPath(p string) string {
	if strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n") {
		return p
	}
	return "/drills"
}

// crossSite reports whether a browser says the request came from another
// site: sign-in forms are refused then (no session, so no CSRF token yet).
func crossSite(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") == "cross-site"
}

// signInPage asks for a name to send a link to, or offers OpenID Connect.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if s.sessionOf(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, nil, http.StatusOK, "signin", "console.signin.title", signInView{Next: next, OIDC: s.oidc != nil})
}

// requestLink sends a one-time sign-in link to a known person's channel.
// The console's channel is its server's log (the paging channels belong to
// the worker's activities). The answer is the same whether or not the name
// is known, so the page tells nobody who is.
func (s *Server) requestLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if crossSite(r) {
		s.fail(w, r, nil, http.StatusForbidden, s.locale(w, r).T("console.err.csrf"))
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	next := localPath(r.PostFormValue("next"))
	if s.knownPerson(r.Context(), name) {
		link := SignInLink(s.cfg.Key, s.cfg.PublicURL, name, s.cfg.SignInTTL, s.now())
		if next != "/drills" {
			link += "?next=" + url.QueryEscape(next)
		}
		fmt.Fprintf(s.cfg.Log, "drillctl console: sign-in link for %s (use it once, within %s): %s\n",
			name, s.cfg.SignInTTL, link)
	}
	s.render(w, r, nil, http.StatusOK, "signin", "console.signin.title", signInView{Next: next, Sent: name, OIDC: s.oidc != nil})
}

// linkError is the page for a sign-in token that does not verify.
func (s *Server) linkError(w http.ResponseWriter, r *http.Request, err error) {
	l := s.locale(w, r)
	if errors.Is(err, acklink.ErrExpired) {
		s.fail(w, r, nil, http.StatusGone, l.T("console.signin.expired"))
		return
	}
	s.fail(w, r, nil, http.StatusBadRequest, l.T("console.signin.bad"))
}

// confirmLink shows who a link signs in, and a button: a GET signs in
// nobody, since mail and chat scanners fetch links to preview them.
func (s *Server) confirmLink(w http.ResponseWriter, r *http.Request) {
	t, err := s.verifySignIn(r.PathValue("token"))
	if err != nil {
		s.linkError(w, r, err)
		return
	}
	s.render(w, r, nil, http.StatusOK, "signin", "console.signin.title", signInView{
		Confirm: t.Contact, Token: r.PathValue("token"), Next: localPath(r.URL.Query().Get("next"))})
}

// useLink signs in the person a link names, once.
func (s *Server) useLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if crossSite(r) {
		s.fail(w, r, nil, http.StatusForbidden, s.locale(w, r).T("console.err.csrf"))
		return
	}
	t, err := s.verifySignIn(r.PathValue("token"))
	if err != nil {
		s.linkError(w, r, err)
		return
	}
	if !s.used.use(t.Nonce, t.Expires, s.now()) {
		s.fail(w, r, nil, http.StatusConflict, s.locale(w, r).T("console.signin.used"))
		return
	}
	if err := s.setSession(w, t.Contact, "link"); err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, err.Error())
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// knownPlaybooks are the playbooks whose people may sign in: the console's
// own, then those of the recent drills.
func (s *Server) knownPlaybooks(ctx context.Context) []*playbooks.Playbook {
	out := append([]*playbooks.Playbook(nil), s.cfg.Playbooks...)
	drills, err := s.cfg.Backend.ListDrills(ctx, ListQuery{Limit: 20})
	if err != nil {
		return out
	}
	seen := map[string]bool{}
	for _, pb := range out {
		seen[pb.Metadata.Name] = true
	}
	for _, d := range drills {
		if seen[d.Playbook] {
			continue
		}
		seen[d.Playbook] = true
		if full, err := s.cfg.Backend.Drill(ctx, d.ID); err == nil && full.Input != nil {
			out = append(out, &full.Input.Playbook)
		}
	}
	return out
}

// knownPerson reports whether name may sign in: a viewer, or a contact or
// starter of a playbook the console knows.
func (s *Server) knownPerson(ctx context.Context, name string) bool {
	_, ok := s.person(ctx, name, false)
	return ok
}

// person finds who an identity names: a viewer or a contact or starter
// by name, or (byEmail) the contact whose e-mail address it is.
func (s *Server) person(ctx context.Context, id string, byEmail bool) (string, bool) {
	if id == "" {
		return "", false
	}
	for _, v := range s.cfg.Viewers {
		if v == id {
			return v, true
		}
	}
	for _, pb := range s.knownPlaybooks(ctx) {
		if byEmail {
			for name, c := range pb.Contacts {
				if c.Email != "" && strings.EqualFold(c.Email, id) {
					return name, true
				}
			}
		}
		if _, ok := pb.Contacts[id]; ok {
			return id, true
		}
		for _, st := range pb.Starters {
			if st == id {
				return id, true
			}
		}
	}
	return "", false
}
