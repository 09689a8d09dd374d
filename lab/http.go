package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// handler serves one site: its health, the platform's API, the replication
// contract, and the lab's failover and fault controls.
func (l *Lab) handler(s *site) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		role := s.role
		l.mu.Unlock()
		code := http.StatusOK
		if role != RoleActive {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"site": s.name, "role": role, "healthy": role == RoleActive})
	})

	// The platform's own API.
	mux.HandleFunc("POST /api/messages", l.writeHandler(s, func(r *http.Request) (write, error) {
		var m Message
		if err := decode(r, &m); err != nil || m.Chat == "" || m.Text == "" {
			return write{}, errors.New(`expected {"chat": "...", "author": "...", "text": "..."}`)
		}
		return write{message: &m}, nil
	}))
	mux.HandleFunc("GET /api/messages", l.readHandler(s, func(r *http.Request) any {
		chat := r.URL.Query().Get("chat")
		out := []Message{}
		for _, m := range s.messages {
			if chat == "" || m.Chat == chat {
				out = append(out, m)
			}
		}
		if len(out) > 100 {
			out = out[len(out)-100:]
		}
		return map[string]any{"site": s.name, "messages": out}
	}))
	grantWrite := func(revoke bool) http.HandlerFunc {
		return l.writeHandler(s, func(r *http.Request) (write, error) {
			var g Grant
			if err := decode(r, &g); err != nil || g.Group == "" || g.Subject == "" || g.Permission == "" {
				return write{}, errors.New(`expected {"group": "...", "subject": "...", "permission": "..."}`)
			}
			return write{grant: &g, revoke: revoke}, nil
		})
	}
	mux.HandleFunc("POST /api/grants", grantWrite(false))
	mux.HandleFunc("DELETE /api/grants", grantWrite(true))

	// The replication contract (CONTRACT.md).
	mux.HandleFunc("GET /replication/permissions", l.readHandler(s, func(r *http.Request) any {
		return map[string]any{"site": s.name, "grants": sortedGrants(s.grants)}
	}))
	mux.HandleFunc("GET /replication/messages/newest", l.readHandlerErr(s, func(r *http.Request) (any, error) {
		before, err := instantParam(r, "before")
		if err != nil {
			return nil, err
		}
		m, count, ok := s.newestBefore(before)
		out := map[string]any{"site": s.name, "count": count}
		if ok {
			out["newestAt"], out["newestId"] = m.CreatedAt, m.ID
		}
		return out, nil
	}))
	mux.HandleFunc("GET /replication/messages", l.readHandlerErr(s, func(r *http.Request) (any, error) {
		since, err := instantParam(r, "since")
		if err != nil {
			return nil, err
		}
		before, err := instantParam(r, "before")
		if err != nil {
			return nil, err
		}
		return map[string]any{"site": s.name, "ids": s.idsBetween(since, before)}, nil
	}))
	mux.HandleFunc("POST /replication/canary", l.writeHandler(s, func(r *http.Request) (write, error) {
		var c Canary
		if err := decode(r, &c); err != nil || c.ID == "" || c.At.IsZero() {
			return write{}, errors.New(`expected {"id": "...", "at": "<RFC 3339 instant>"}`)
		}
		c.At = c.At.UTC()
		return write{canary: &c}, nil
	}))
	mux.HandleFunc("GET /replication/canary/newest", func(w http.ResponseWriter, r *http.Request) {
		before, err := instantParam(r, "before")
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		l.mu.Lock()
		c, ok := s.newestCanaryBefore(before)
		down := s.role == RoleDown
		l.mu.Unlock()
		switch {
		case down:
			writeError(w, http.StatusServiceUnavailable, errors.New("this site is down"))
		case !ok:
			writeError(w, http.StatusNotFound, errors.New("no canary here"))
		default:
			writeJSON(w, http.StatusOK, c)
		}
	})

	// The lab's controls: the same on both sites.
	mux.HandleFunc("POST /lab/failover", func(w http.ResponseWriter, r *http.Request) {
		t, err := l.failover()
		if err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"state": "failing-over", "outageStartedAt": t.OutageStartedAt,
			"promoteAfter": l.cfg.PromoteDelay.String()})
	})
	mux.HandleFunc("POST /lab/failback", func(w http.ResponseWriter, r *http.Request) {
		if err := l.failback(); err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"state": "primary active"})
	})
	mux.HandleFunc("GET /lab/truth", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, l.Truth()) })
	mux.HandleFunc("POST /lab/faults/kill-primary", l.fault(func() error { l.primary.role = RoleDown; return nil }))
	mux.HandleFunc("POST /lab/faults/freeze-replication", l.fault(func() error { l.frozen = true; return nil }))
	mux.HandleFunc("POST /lab/faults/thaw-replication", l.fault(func() error { l.frozen = false; return nil }))
	mux.HandleFunc("POST /lab/faults/break-permissions", func(w http.ResponseWriter, r *http.Request) {
		group := r.URL.Query().Get("group")
		if group == "" {
			writeError(w, http.StatusBadRequest, errors.New("expected ?group=NAME"))
			return
		}
		l.fault(func() error { l.broken[group] = true; return nil })(w, r)
	})
	mux.HandleFunc("POST /lab/faults/drift", func(w http.ResponseWriter, r *http.Request) {
		var d struct {
			Site   string `json:"site"`
			Revoke bool   `json:"revoke"`
			Grant  Grant  `json:"grant"`
		}
		if err := decode(r, &d); err != nil || (d.Site != "primary" && d.Site != "standby") || d.Grant.Group == "" {
			writeError(w, http.StatusBadRequest, errors.New(`expected {"site": "primary|standby", "revoke": false, "grant": {...}}`))
			return
		}
		l.fault(func() error {
			target := l.primary
			if d.Site == "standby" {
				target = l.standby
			}
			target.apply(write{grant: &d.Grant, revoke: d.Revoke})
			return nil
		})(w, r)
	})
	return mux
}

// writeHandler accepts a write on s when s is active.
func (l *Lab) writeHandler(s *site, parse func(*http.Request) (write, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		wr, err := parse(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		l.mu.Lock()
		err = l.accept(s, wr)
		role := s.role
		l.mu.Unlock()
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, fmt.Errorf("%s site is %s: %w", s.name, role, err))
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"site": s.name, "at": wr.at})
	}
}

// readHandler serves a read of s's store; a site that is down answers 503.
func (l *Lab) readHandler(s *site, read func(*http.Request) any) http.HandlerFunc {
	return l.readHandlerErr(s, func(r *http.Request) (any, error) { return read(r), nil })
}

func (l *Lab) readHandlerErr(s *site, read func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		if s.role == RoleDown {
			l.mu.Unlock()
			writeError(w, http.StatusServiceUnavailable, errors.New("this site is down"))
			return
		}
		v, err := read(r)
		l.mu.Unlock()
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// fault applies a change under the lab's lock.
func (l *Lab) fault(apply func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		err := apply()
		l.mu.Unlock()
		if err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"fault": r.URL.Path})
	}
}

func instantParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("?%s=%q: expected an RFC 3339 instant", name, v)
	}
	return t, nil
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
