package console

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/drillctl/drillctl/schedule"
)

// scheduleRow is one schedule and whether the viewer may change it.
type scheduleRow struct {
	schedule.Summary
	MayChange bool
	// CustomSkip says the schedule has skip rules drillctl did not make;
	// the console then leaves its skip dates alone.
	CustomSkip bool
}

// schedulesView is the schedules page's data.
type schedulesView struct {
	Rows  []scheduleRow
	Error string
	Today string
}

// skipRE is a skip date or range as schedule.Summary gives them.
var skipRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?$`)

// schedulesPage lists the schedules with their next drills (shown in the
// viewer's zone by the page's script) and skip dates.
func (s *Server) schedulesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	v := schedulesView{Today: s.now().UTC().Format(time.DateOnly)}
	sums, err := s.cfg.Backend.Schedules(r.Context())
	if err != nil {
		v.Error = err.Error()
	}
	for _, sum := range sums {
		row := scheduleRow{Summary: sum}
		if pb, err := s.cfg.Backend.SchedulePlaybook(r.Context(), sum.Name); err == nil {
			row.MayChange = mayStart(pb, sess.Name)
		}
		for _, sk := range sum.Skip {
			if !skipRE.MatchString(sk) {
				row.CustomSkip = true
			}
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, sess, http.StatusOK, "schedules", "console.nav.schedules", v)
}

// scheduleFor reads the schedule of the request's path and checks that the
// person may change it (a starter of its playbook), answering the error
// itself when not.
func (s *Server) scheduleFor(w http.ResponseWriter, r *http.Request, sess *session) (*schedule.Summary, bool) {
	l := s.locale(w, r)
	name := r.PathValue("name")
	pb, err := s.cfg.Backend.SchedulePlaybook(r.Context(), name)
	if err != nil {
		s.fail(w, r, sess, http.StatusNotFound, err.Error())
		return nil, false
	}
	if !mayStart(pb, sess.Name) {
		s.fail(w, r, sess, http.StatusForbidden, l.T("console.err.mayNotSchedule", sess.Name, name))
		return nil, false
	}
	sums, err := s.cfg.Backend.Schedules(r.Context())
	if err != nil {
		s.fail(w, r, sess, http.StatusBadGateway, err.Error())
		return nil, false
	}
	for i := range sums {
		if sums[i].Name == name {
			return &sums[i], true
		}
	}
	s.fail(w, r, sess, http.StatusNotFound, "no schedule "+name)
	return nil, false
}

// pauseSchedule pauses or unpauses a schedule, with the person's name in
// its note.
func (s *Server) pauseSchedule(w http.ResponseWriter, r *http.Request, sess *session) {
	sum, ok := s.scheduleFor(w, r, sess)
	if !ok {
		return
	}
	pause := strings.HasSuffix(r.URL.Path, "/pause")
	note := strings.TrimSpace(r.PostFormValue("note"))
	verb := "unpaused"
	if pause {
		verb = "paused"
	}
	full := verb + " by " + sess.Name + " (console)"
	if note != "" {
		full += ": " + note
	}
	if err := s.cfg.Backend.PauseSchedule(r.Context(), sum.Name, full, pause); err != nil {
		s.fail(w, r, sess, http.StatusBadGateway, err.Error())
		return
	}
	http.Redirect(w, r, "/schedules", http.StatusSeeOther)
}

// skipDate adds a date with no drill to a schedule, or removes one.
func (s *Server) skipDate(w http.ResponseWriter, r *http.Request, sess *session) {
	sum, ok := s.scheduleFor(w, r, sess)
	if !ok {
		return
	}
	l := s.locale(w, r)
	date := strings.TrimSpace(r.PostFormValue("date"))
	if !skipRE.MatchString(date) {
		s.fail(w, r, sess, http.StatusBadRequest, l.T("console.err.date", date))
		return
	}
	skip := slices.Clone(sum.Skip)
	for _, sk := range skip {
		if !skipRE.MatchString(sk) {
			s.fail(w, r, sess, http.StatusConflict, l.T("console.err.customSkip", sum.Name))
			return
		}
	}
	if strings.HasSuffix(r.URL.Path, "/unskip") {
		skip = slices.DeleteFunc(skip, func(sk string) bool { return sk == date })
	} else if !slices.Contains(skip, date) {
		skip = append(skip, date)
	}
	if err := s.cfg.Backend.SetSkip(r.Context(), sum.Name, skip); err != nil {
		s.fail(w, r, sess, http.StatusBadRequest, err.Error())
		return
	}
	http.Redirect(w, r, "/schedules", http.StatusSeeOther)
}
