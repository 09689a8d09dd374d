package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/review"
)

// registerView is the register page's data: package review's register of
// the period (verified, needs-verification, overdue, never-drilled per
// playbook, with its last drill and last passing drill).
type registerView struct {
	Period   string
	Register *evidence.Register
	Error    string
}

// registerPage shows the register of a period: ?period=2026Q4 or 2026,
// the current quarter by default (in UTC).
func (s *Server) registerPage(w http.ResponseWriter, r *http.Request, sess *session) {
	now := s.now()
	v := registerView{Period: strings.TrimSpace(r.URL.Query().Get("period"))}
	period := evidence.QuarterOf(now, time.UTC).Period()
	if v.Period != "" {
		if q, err := evidence.ParseQuarter(v.Period, time.UTC); err == nil {
			period = q.Period()
		} else if y, yerr := evidence.ParseYear(v.Period, time.UTC); yerr == nil {
			period = y
		} else {
			v.Error = err.Error()
		}
	}
	if v.Period == "" || v.Error != "" {
		v.Period = period.Label
	}
	current := map[string]review.Settings{}
	if s.cfg.PlaybooksDir != "" {
		pbs, err := review.LoadPlaybooks(s.cfg.PlaybooksDir)
		if err != nil {
			v.Error = err.Error()
		} else {
			current = pbs
		}
	}
	reg, err := review.BuildRegister(review.RegisterOptions{Store: s.cfg.Evidence, Period: period, Now: now,
		Playbooks: current, Pub: s.cfg.PublicKey, ReviewWithin: 14 * 24 * time.Hour})
	if err != nil {
		v.Error = err.Error()
	}
	v.Register = reg
	s.render(w, r, sess, http.StatusOK, "register", "console.nav.register", v)
}
