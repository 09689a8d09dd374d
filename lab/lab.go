// Package lab is a small collaboration platform (users, groups with
// permissions, chat groups with messages) running as two sites on loopback,
// a primary and a standby, to drill against: in `drillctl lab`, in
// `drillctl demo` and in the tests that check drillctl measures RTO and RPO
// right.
//
// It is real in the ways a drill can see: two HTTP servers with their own
// stores; a replicator that copies writes to the other site after a lag and
// loses what it had not delivered when the primary is fenced; a traffic
// generator that keeps writing; faults that freeze replication or break the
// sync of a group's permissions. It keeps the ground truth (when the outage
// began, when service came back, the newest write that survived) so tests can
// compare drillctl's measures with it. The replication checks speak the JSON
// contract in CONTRACT.md, which a real platform can implement behind an
// adapter.
package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Site roles.
const (
	RoleActive  = "active"  // takes writes
	RoleStandby = "standby" // receives replicated writes
	RoleFenced  = "fenced"  // a former primary: readable, takes no writes
	RoleDown    = "down"    // killed: answers nothing but its health
)

// Config configures a lab. Zero values take the defaults.
type Config struct {
	PrimaryAddr string // default 127.0.0.1:9101; "127.0.0.1:0" picks a free port
	StandbyAddr string // default 127.0.0.1:9102
	// Lag is how long a write takes to reach the other site (default 2s).
	Lag time.Duration
	// PromoteDelay is how long the standby takes to become active after a
	// failover: the true outage (default 3s).
	PromoteDelay time.Duration
	// TrafficInterval is how often the traffic generator writes a message
	// (default 100ms; negative: no traffic).
	TrafficInterval time.Duration
	Logger          *slog.Logger
}

// Grant is a permission a subject (user) holds in a group.
type Grant struct {
	Group      string `json:"group"`
	Subject    string `json:"subject"`
	Permission string `json:"permission"`
}

// Message is a chat message.
type Message struct {
	ID        string    `json:"id"`
	Chat      string    `json:"chat"`
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"createdAt"`
}

// Canary is a marker a drill writes to measure data loss.
type Canary struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// Truth is what really happened, for comparing with a drill's measures.
type Truth struct {
	Failovers        int        `json:"failovers"`
	OutageStartedAt  *time.Time `json:"outageStartedAt,omitempty"`  // the primary was fenced
	RestoredAt       *time.Time `json:"restoredAt,omitempty"`       // the standby became active
	LastReplicatedAt *time.Time `json:"lastReplicatedAt,omitempty"` // newest write of the old primary on the standby at the fence
	LastAcceptedAt   *time.Time `json:"lastAcceptedAt,omitempty"`   // newest write the old primary accepted
	LostWrites       int        `json:"lostWrites"`                 // writes the standby never got
	LostMessages     int        `json:"lostMessages"`
}

// write is one change, replicated as a unit.
type write struct {
	at      time.Time
	message *Message
	grant   *Grant
	revoke  bool
	canary  *Canary
}

// pending is a write on its way to the other site.
type pending struct {
	w         write
	deliverAt time.Time
	to        *site
}

// Lab is a running two-site platform.
type Lab struct {
	cfg     Config
	log     *slog.Logger
	mu      sync.Mutex
	primary *site
	standby *site
	queue   []pending
	frozen  bool
	broken  map[string]bool // groups whose permission changes are not replicated
	truth   Truth
	seq     int
	cancel  context.CancelFunc
	done    sync.WaitGroup
	timers  []*time.Timer
}

// Start starts both sites, the replicator and the traffic generator.
func Start(ctx context.Context, cfg Config) (*Lab, error) {
	if cfg.PrimaryAddr == "" {
		cfg.PrimaryAddr = "127.0.0.1:9101"
	}
	if cfg.StandbyAddr == "" {
		cfg.StandbyAddr = "127.0.0.1:9102"
	}
	if cfg.Lag == 0 {
		cfg.Lag = 2 * time.Second
	}
	if cfg.PromoteDelay == 0 {
		cfg.PromoteDelay = 3 * time.Second
	}
	if cfg.TrafficInterval == 0 {
		cfg.TrafficInterval = 100 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Lab{cfg: cfg, log: log, broken: map[string]bool{}}
	l.primary = newSite("primary", RoleActive)
	l.standby = newSite("standby", RoleStandby)
	l.seed()
	for _, s := range []*struct {
		site *site
		addr string
	}{{l.primary, cfg.PrimaryAddr}, {l.standby, cfg.StandbyAddr}} {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			l.closeServers()
			return nil, fmt.Errorf("lab: %s site on %s: %w", s.site.name, s.addr, err)
		}
		s.site.ln = ln
		s.site.srv = &http.Server{Handler: l.handler(s.site), ReadHeaderTimeout: 5 * time.Second}
		go s.site.srv.Serve(ln)
	}
	ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.done.Add(1)
	go l.replicate(ctx)
	if cfg.TrafficInterval > 0 {
		l.done.Add(1)
		go l.traffic(ctx)
	}
	return l, nil
}

// PrimaryURL is the primary site's base URL.
func (l *Lab) PrimaryURL() string { return "http://" + l.primary.ln.Addr().String() }

// StandbyURL is the standby site's base URL.
func (l *Lab) StandbyURL() string { return "http://" + l.standby.ln.Addr().String() }

// Truth returns what really happened so far.
func (l *Lab) Truth() Truth {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.truth
}

// Stop stops the traffic, the replicator and both sites.
func (l *Lab) Stop() error {
	l.cancel()
	l.mu.Lock()
	for _, t := range l.timers {
		t.Stop()
	}
	l.mu.Unlock()
	l.done.Wait()
	return l.closeServers()
}

func (l *Lab) closeServers() error {
	var errs []error
	for _, s := range []*site{l.primary, l.standby} {
		if s.srv != nil {
			errs = append(errs, s.srv.Close())
		} else if s.ln != nil {
			errs = append(errs, s.ln.Close())
		}
	}
	return errors.Join(errs...)
}

// seed gives both sites the same users, groups, grants and chats.
func (l *Lab) seed() {
	grants := []Grant{
		{"dr-admins", "alice", "admin"}, {"dr-admins", "bob", "admin"},
		{"finance", "carol", "write"}, {"finance", "dave", "read"}, {"finance", "alice", "read"},
		{"engineering", "bob", "write"}, {"engineering", "erin", "write"}, {"engineering", "dave", "read"},
		{"approvals", "carol", "approve"}, {"approvals", "alice", "approve"},
	}
	start := time.Now().Add(-time.Hour).UTC()
	for _, s := range []*site{l.primary, l.standby} {
		for _, g := range grants {
			s.grants[g.key()] = g
		}
		for i, chat := range []string{"general", "incidents", "finance"} {
			s.addMessage(Message{ID: fmt.Sprintf("seed-%d", i), Chat: chat, Author: "system",
				Text: "welcome to #" + chat, CreatedAt: start.Add(time.Duration(i) * time.Second)})
		}
	}
}

// active returns the site taking writes, or nil during a failover.
func (l *Lab) active() *site {
	for _, s := range []*site{l.primary, l.standby} {
		if s.role == RoleActive {
			return s
		}
	}
	return nil
}

func (l *Lab) other(s *site) *site {
	if s == l.primary {
		return l.standby
	}
	return l.primary
}

var errNotActive = errors.New("this site takes no writes")

// accept applies a write on site s, which must be active, and queues it for
// the other site. Call with l.mu held.
func (l *Lab) accept(s *site, w write) error {
	if s.role != RoleActive {
		return errNotActive
	}
	w.at = time.Now().UTC()
	if w.message != nil {
		l.seq++
		w.message.ID = fmt.Sprintf("m-%07d", l.seq)
		w.message.CreatedAt = w.at
	}
	s.apply(w)
	if s == l.primary {
		at := w.at
		l.truth.LastAcceptedAt = &at
	}
	if w.grant != nil && l.broken[w.grant.Group] {
		return nil // the fault: this group's permission changes never leave
	}
	l.queue = append(l.queue, pending{w: w, deliverAt: w.at.Add(l.cfg.Lag), to: l.other(s)})
	return nil
}

// replicate delivers queued writes once their lag has passed.
func (l *Lab) replicate(ctx context.Context) {
	defer l.done.Done()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			l.mu.Lock()
			if !l.frozen {
				kept := l.queue[:0]
				for _, p := range l.queue {
					if p.deliverAt.After(now) {
						kept = append(kept, p)
						continue
					}
					p.to.apply(p.w)
				}
				l.queue = kept
			}
			l.mu.Unlock()
		}
	}
}

// traffic keeps writing chat messages to the active site.
func (l *Lab) traffic(ctx context.Context) {
	defer l.done.Done()
	tick := time.NewTicker(l.cfg.TrafficInterval)
	defer tick.Stop()
	authors := []string{"alice", "bob", "carol", "dave", "erin"}
	chats := []string{"general", "incidents", "finance"}
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			l.mu.Lock()
			if s := l.active(); s != nil {
				_ = l.accept(s, write{message: &Message{Chat: chats[n%len(chats)], Author: authors[n%len(authors)],
					Text: fmt.Sprintf("message %d", n)}})
			}
			l.mu.Unlock()
		}
	}
}

// failover fences the primary now and promotes the standby after the
// promote delay; what had not replicated is lost.
func (l *Lab) failover() (Truth, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.primary.role != RoleActive && l.primary.role != RoleDown {
		return l.truth, fmt.Errorf("the primary is %s: no failover to do", l.primary.role)
	}
	now := time.Now().UTC()
	l.primary.role = RoleFenced
	l.truth.Failovers++
	l.truth.OutageStartedAt = &now
	l.truth.RestoredAt = nil
	lost, lostMsgs := 0, 0
	kept := l.queue[:0]
	for _, p := range l.queue {
		if p.to == l.standby {
			lost++
			if p.w.message != nil {
				lostMsgs++
			}
			continue
		}
		kept = append(kept, p)
	}
	l.queue = kept
	l.truth.LostWrites, l.truth.LostMessages = lost, lostMsgs
	if newest := l.standby.newestWrite(); !newest.IsZero() {
		l.truth.LastReplicatedAt = &newest
	}
	l.log.Info("failover: primary fenced", "lostWrites", lost)
	l.timers = append(l.timers, time.AfterFunc(l.cfg.PromoteDelay, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.standby.role == RoleStandby && l.primary.role == RoleFenced {
			at := time.Now().UTC()
			l.standby.role = RoleActive
			l.truth.RestoredAt = &at
			l.log.Info("failover: standby promoted")
		}
	}))
	return l.truth, nil
}

// failback re-syncs the old primary from the active standby and makes it
// the active site again.
//
// A failback while the standby is still being promoted (the primary fenced,
// the standby not yet active) calls the failover off: the primary, which
// holds every write, is unfenced and the promotion never happens.
func (l *Lab) failback() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.standby.role == RoleStandby && l.primary.role == RoleFenced {
		l.primary.role = RoleActive
		l.log.Info("failback: the failover was called off before the standby was promoted")
		return nil
	}
	if l.standby.role != RoleActive {
		return fmt.Errorf("the standby is %s: fail back after it is active", l.standby.role)
	}
	l.primary.copyFrom(l.standby)
	l.queue = nil
	l.primary.role = RoleActive
	l.standby.role = RoleStandby
	return nil
}

// sortedGrants returns a site's grants in a stable order.
func sortedGrants(m map[string]Grant) []Grant {
	out := make([]Grant, 0, len(m))
	for _, g := range m {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}
