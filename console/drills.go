package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/workflows"
)

// drillsView is the drill list's data.
type drillsView struct {
	Playbook, Status, Verdict, From, To string
	Rows                                []DrillSummary
	Playbooks                           []string
	Statuses, Verdicts                  []string
	Starts                              []startOption
	Error                               string
}

// startOption is a playbook the viewer may start: a button, or the CLI
// command when its decisions must be signed.
type startOption struct {
	Name, Description, CLI string
}

// drillsPage lists the drills with their filters, and the playbooks the
// viewer may start.
func (s *Server) drillsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	v := drillsView{Playbook: q.Get("playbook"), Status: q.Get("status"), Verdict: q.Get("verdict"), From: q.Get("from"), To: q.Get("to"),
		Statuses: []string{evidence.StatusRunning, evidence.StatusCompleted, evidence.StatusFailed, evidence.StatusAborted},
		Verdicts: []string{evidence.VerdictMet, evidence.VerdictMissed, evidence.VerdictIncomplete, evidence.StatusFailed, evidence.StatusAborted}}
	lq := ListQuery{Playbook: v.Playbook, Status: v.Status, Verdict: v.Verdict, Limit: 50}
	if t, err := time.Parse(time.DateOnly, v.From); err == nil {
		lq.From = t
	}
	if t, err := time.Parse(time.DateOnly, v.To); err == nil {
		lq.To = t.AddDate(0, 0, 1) // the whole day
	}
	rows, err := s.cfg.Backend.ListDrills(r.Context(), lq)
	if err != nil {
		v.Error = err.Error()
	}
	v.Rows = rows
	names := map[string]bool{}
	for _, pb := range s.cfg.Playbooks {
		names[pb.Metadata.Name] = true
		if !mayStart(pb, sess.Name) {
			continue
		}
		opt := startOption{Name: pb.Metadata.Name, Description: pb.Metadata.Description}
		if pb.IdentityMode() == playbooks.IdentitySigned {
			opt.CLI = fmt.Sprintf("drillctl drill run %s --as %s", cmpOr(pb.Source.Path, pb.Metadata.Name+".yaml"), sess.Name)
		}
		v.Starts = append(v.Starts, opt)
	}
	for _, d := range rows {
		if d.Playbook != "" {
			names[d.Playbook] = true
		}
	}
	if v.Playbook != "" {
		names[v.Playbook] = true
	}
	for n := range names {
		v.Playbooks = append(v.Playbooks, n)
	}
	sort.Strings(v.Playbooks)
	s.render(w, r, sess, http.StatusOK, "drills", "console.nav.drills", v)
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// startDrill starts a drill of one of the console's playbooks, as the
// signed-in person, who must be one of its starters.
func (s *Server) startDrill(w http.ResponseWriter, r *http.Request, sess *session) {
	l := s.locale(w, r)
	name := r.PostFormValue("playbook")
	var pb *playbooks.Playbook
	for _, p := range s.cfg.Playbooks {
		if p.Metadata.Name == name {
			pb = p
		}
	}
	switch {
	case pb == nil:
		s.fail(w, r, sess, http.StatusNotFound, l.T("console.err.noPlaybook", name))
		return
	case !mayStart(pb, sess.Name):
		s.fail(w, r, sess, http.StatusForbidden, l.T("console.err.mayNotStart", sess.Name, name))
		return
	case pb.IdentityMode() == playbooks.IdentitySigned:
		s.fail(w, r, sess, http.StatusConflict, l.T("console.err.signedStart",
			fmt.Sprintf("drillctl drill run %s --as %s", cmpOr(pb.Source.Path, name+".yaml"), sess.Name)))
		return
	}
	params := map[string]string{}
	for k, v := range pb.Params {
		params[k] = v
	}
	host, _ := os.Hostname()
	in := workflows.DrillInput{DrillID: "drill-" + name + "-" + uuid.NewString(), Playbook: *pb, Params: params,
		Initiator: sess.Name, Environment: evidence.Environment{DrillctlVersion: s.cfg.Version, WorkerHost: host}}
	if pb.Source.Path != "" {
		if sig, err := os.ReadFile(pb.Source.Path + ".sig"); err == nil {
			in.PlaybookSignature = string(sig)
		}
	}
	if err := s.cfg.Backend.Start(r.Context(), in); err != nil {
		s.fail(w, r, sess, http.StatusBadGateway, err.Error())
		return
	}
	http.Redirect(w, r, "/drills/"+url.PathEscape(in.DrillID), http.StatusSeeOther)
}

// loadDrill reads the drill of the request's path, answering 404 or 502
// itself when it cannot.
func (s *Server) loadDrill(w http.ResponseWriter, r *http.Request, sess *session) (*Drill, bool) {
	d, err := s.cfg.Backend.Drill(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNoDrill):
		s.fail(w, r, sess, http.StatusNotFound, s.locale(w, r).T("console.err.noDrill", r.PathValue("id")))
		return nil, false
	case err != nil:
		s.fail(w, r, sess, http.StatusBadGateway, err.Error())
		return nil, false
	}
	return d, true
}

// drillPage shows one drill, live while it runs.
func (s *Server) drillPage(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.loadDrill(w, r, sess)
	if !ok {
		return
	}
	s.render(w, r, sess, http.StatusOK, "drill", "console.drill.title", s.drillView(d, sess.Name, s.locale(w, r)))
}

// liveAnswer is what the page's script polls: the live fragment, the
// actions (replaced only when Key changes, so a half-typed comment stays),
// and a one-line summary for screen readers.
type liveAnswer struct {
	Live    string `json:"live"`
	Actions string `json:"actions"`
	Key     string `json:"key"`
	Summary string `json:"summary"`
	Running bool   `json:"running"`
}

// drillLive answers the page's poll.
func (s *Server) drillLive(w http.ResponseWriter, r *http.Request, sess *session) {
	d, err := s.cfg.Backend.Drill(r.Context(), r.PathValue("id"))
	if err != nil {
		code := http.StatusBadGateway
		if errors.Is(err, ErrNoDrill) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	l := s.locale(w, r)
	v := s.drillView(d, sess.Name, l)
	p := page{L: l, Who: sess.Name, CSRF: s.csrfToken(sess), Data: v}
	live, err := s.renderFragment("drill", "live", p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	acts, err := s.renderFragment("drill", "actions", p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(liveAnswer{Live: live, Actions: acts, Key: v.ActionsKey, Summary: v.summary(l), Running: d.Running})
}

// approve decides a gate as the signed-in person: refused with 403 unless
// they are one of its approvers (and, with four eyes, not its initiator).
func (s *Server) approve(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.loadDrill(w, r, sess)
	if !ok {
		return
	}
	l := s.locale(w, r)
	step := r.PostFormValue("step")
	if why := gateRefusal(d, step, sess.Name); why != "" {
		s.fail(w, r, sess, http.StatusForbidden, l.T("console.err.refused", why))
		return
	}
	if signedIdentity(d) {
		s.fail(w, r, sess, http.StatusConflict, l.T("console.err.signed", approveCLI(d.Record.DrillID, step, sess.Name)))
		return
	}
	in := workflows.ApproveInput{Step: step, By: sess.Name, Comment: strings.TrimSpace(r.PostFormValue("comment")),
		Reject: r.PostFormValue("decision") == "no-go", Via: "console"}
	if _, err := s.cfg.Backend.Approve(r.Context(), d.Record.DrillID, in); err != nil {
		s.fail(w, r, sess, http.StatusConflict, l.T("console.err.refused", err.Error()))
		return
	}
	http.Redirect(w, r, "/drills/"+url.PathEscape(d.Record.DrillID), http.StatusSeeOther)
}

// ack acknowledges a page as the signed-in person: only a page sent to
// them.
func (s *Server) ack(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.loadDrill(w, r, sess)
	if !ok {
		return
	}
	l := s.locale(w, r)
	step := r.PostFormValue("step")
	if why := ackRefusal(d, step, sess.Name); why != "" {
		s.fail(w, r, sess, http.StatusForbidden, l.T("console.err.refused", why))
		return
	}
	if signedIdentity(d) {
		s.fail(w, r, sess, http.StatusConflict, l.T("console.err.signed", ackCLI(d.Record.DrillID, step, sess.Name)))
		return
	}
	if _, err := s.cfg.Backend.Ack(r.Context(), d.Record.DrillID, step, workflows.AckInput{By: sess.Name, Via: "console"}); err != nil {
		s.fail(w, r, sess, http.StatusConflict, l.T("console.err.refused", err.Error()))
		return
	}
	http.Redirect(w, r, "/drills/"+url.PathEscape(d.Record.DrillID), http.StatusSeeOther)
}

// abort aborts the drill as the signed-in person. An abort is a safety
// lever: a signed drill honours an unsigned one too, and records it so.
func (s *Server) abort(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.loadDrill(w, r, sess)
	if !ok {
		return
	}
	l := s.locale(w, r)
	if !mayAbort(d, sess.Name) {
		s.fail(w, r, sess, http.StatusForbidden, l.T("console.err.mayNotAbort", sess.Name))
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		s.fail(w, r, sess, http.StatusBadRequest, l.T("console.err.reason"))
		return
	}
	if err := s.cfg.Backend.Abort(r.Context(), d.Record.DrillID, workflows.AbortInput{By: sess.Name, Reason: reason, Via: "console"}); err != nil {
		s.fail(w, r, sess, http.StatusBadGateway, err.Error())
		return
	}
	http.Redirect(w, r, "/drills/"+url.PathEscape(d.Record.DrillID), http.StatusSeeOther)
}

// The CLI commands a signed drill's people run instead of the buttons.
func approveCLI(id, step, who string) string {
	return fmt.Sprintf("drillctl drill approve %s %s --as %s", id, step, who)
}

func ackCLI(id, step, who string) string {
	return fmt.Sprintf("drillctl drill ack %s --step %s --as %s", id, step, who)
}

func abortCLI(id, who string) string {
	return fmt.Sprintf("drillctl drill abort %s --as %s --reason \"…\"", id, who)
}
