package lab

import (
	"net"
	"net/http"
	"sort"
	"time"
)

// site is one site's server and store.
type site struct {
	name     string
	role     string
	ln       net.Listener
	srv      *http.Server
	grants   map[string]Grant
	messages []Message // by CreatedAt
	ids      map[string]bool
	canaries []Canary // by At
}

func newSite(name, role string) *site {
	return &site{name: name, role: role, grants: map[string]Grant{}, ids: map[string]bool{}}
}

func (g Grant) key() string { return g.Group + "/" + g.Subject + "/" + g.Permission }

// apply stores a write (accepted here or replicated from the other site).
func (s *site) apply(w write) {
	switch {
	case w.message != nil:
		s.addMessage(*w.message)
	case w.grant != nil && w.revoke:
		delete(s.grants, w.grant.key())
	case w.grant != nil:
		s.grants[w.grant.key()] = *w.grant
	case w.canary != nil:
		i := sort.Search(len(s.canaries), func(i int) bool { return s.canaries[i].At.After(w.canary.At) })
		s.canaries = append(s.canaries, Canary{})
		copy(s.canaries[i+1:], s.canaries[i:])
		s.canaries[i] = *w.canary
	}
}

func (s *site) addMessage(m Message) {
	if s.ids[m.ID] {
		return
	}
	s.ids[m.ID] = true
	i := sort.Search(len(s.messages), func(i int) bool { return s.messages[i].CreatedAt.After(m.CreatedAt) })
	s.messages = append(s.messages, Message{})
	copy(s.messages[i+1:], s.messages[i:])
	s.messages[i] = m
}

// newestWrite is the creation instant of the newest message or canary this
// site holds.
func (s *site) newestWrite() time.Time {
	var newest time.Time
	if n := len(s.messages); n > 0 {
		newest = s.messages[n-1].CreatedAt
	}
	if n := len(s.canaries); n > 0 && s.canaries[n-1].At.After(newest) {
		newest = s.canaries[n-1].At
	}
	return newest
}

// copyFrom makes this site's store a copy of other's.
func (s *site) copyFrom(other *site) {
	s.grants = map[string]Grant{}
	for k, g := range other.grants {
		s.grants[k] = g
	}
	s.messages = append([]Message(nil), other.messages...)
	s.ids = map[string]bool{}
	for id := range other.ids {
		s.ids[id] = true
	}
	s.canaries = append([]Canary(nil), other.canaries...)
}

// newestBefore is the newest message created before t (zero t: any).
func (s *site) newestBefore(t time.Time) (Message, int, bool) {
	n := len(s.messages)
	if !t.IsZero() {
		n = sort.Search(len(s.messages), func(i int) bool { return !s.messages[i].CreatedAt.Before(t) })
	}
	if n == 0 {
		return Message{}, 0, false
	}
	return s.messages[n-1], n, true
}

// idsBetween lists ids of messages created in [since, before).
func (s *site) idsBetween(since, before time.Time) []string {
	ids := []string{}
	for _, m := range s.messages {
		if m.CreatedAt.Before(since) || (!before.IsZero() && !m.CreatedAt.Before(before)) {
			continue
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// newestCanaryBefore is the newest canary written before t (zero t: any).
func (s *site) newestCanaryBefore(t time.Time) (Canary, bool) {
	for i := len(s.canaries) - 1; i >= 0; i-- {
		if t.IsZero() || s.canaries[i].At.Before(t) {
			return s.canaries[i], true
		}
	}
	return Canary{}, false
}
