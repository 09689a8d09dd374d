package activities

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// A directory's permissions are its groups' members. Comparing two sites'
// directories finds, per group, members the standby lacks (missing), members
// only the standby has because it changed after the primary (extra), and
// members only the standby has because the primary removed them after the
// standby's last replicated change: revoked on the primary, still granted on
// the standby, the most severe drift (a removed employee keeps their rights
// after a failover).

// Directory is what one directory server holds: its permission groups and
// how far its replication has come (contextCSN).
type Directory struct {
	// Groups are the groups by normalized DN.
	Groups map[string]DirGroup
	// CSN is the newest change the server holds, per server id (contextCSN).
	CSN map[string]CSN
}

// DirGroup is one group: its DN as written, its members by normalized DN
// (the values as written), and the CSN of its entry's last change.
type DirGroup struct {
	DN       string
	Members  map[string]string
	EntryCSN CSN
}

// CSN is an OpenLDAP change sequence number (20261125000353.470011Z#000000#001#000000):
// the instant of a change and the id of the server that made it.
type CSN struct {
	Raw string
	At  time.Time
	SID string
}

// ParseCSN reads a CSN; the zero CSN and false when it is not one.
func ParseCSN(raw string) (CSN, bool) {
	parts := strings.Split(raw, "#")
	if len(parts) != 4 {
		return CSN{}, false
	}
	at, err := time.Parse("20060102150405.999999Z", parts[0])
	if err != nil {
		return CSN{}, false
	}
	return CSN{Raw: raw, At: at.UTC(), SID: parts[2]}, true
}

// After orders two CSNs of one server: by instant, then by the counters.
func (c CSN) After(o CSN) bool {
	if !c.At.Equal(o.At) {
		return c.At.After(o.At)
	}
	return c.Raw > o.Raw
}

// normDN is a DN's comparable form: parsed, re-written, lower case.
func normDN(dn string) string {
	if parsed, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(parsed.String())
	}
	return strings.ToLower(strings.TrimSpace(dn))
}

// subjectName is the value of a DN's first RDN ("mallory" for
// uid=mallory,ou=people,…): how people name the subject.
func subjectName(dn string) string {
	if parsed, err := ldap.ParseDN(dn); err == nil && len(parsed.RDNs) > 0 && len(parsed.RDNs[0].Attributes) > 0 {
		return parsed.RDNs[0].Attributes[0].Value
	}
	return dn
}

// Membership is one member of one group.
type Membership struct {
	Group  string `json:"group"`
	Member string `json:"member"`
}

func (m Membership) String() string { return m.Group + ": " + m.Member }

// DirectoryDiff is the difference between two sites' directories.
type DirectoryDiff struct {
	Missing      []Membership // on the primary, not on the standby
	Extra        []Membership // on the standby only, granted there after it received the primary's last version of the group
	StillGranted []Membership // on the standby only, in a group the primary changed unseen by the standby: revoked but still granted
}

// Count is the number of differences.
func (d DirectoryDiff) Count() int { return len(d.Missing) + len(d.Extra) + len(d.StillGranted) }

// DiffDirectories compares the primary's groups with the standby's. A
// member only the standby has is still granted (revoked on the primary)
// when the primary changed the group in a change the standby never
// received (the group's entryCSN is newer than the standby's contextCSN
// for that server, or unknown), and extra (granted on the standby since)
// when the standby holds the primary's last version of the group. A group
// only the standby has was deleted on the primary when the primary has seen
// the change that made it, and is extra otherwise. Without history an
// unreplicated change cannot say which member it removed, so the rule errs
// towards the severe reading.
func DiffDirectories(primary, standby Directory) DirectoryDiff {
	var d DirectoryDiff
	for _, key := range sortedKeys(primary.Groups) {
		pg := primary.Groups[key]
		sg, ok := standby.Groups[key]
		for _, m := range sortedKeys(pg.Members) {
			if _, has := sg.Members[m]; !ok || !has {
				d.Missing = append(d.Missing, Membership{pg.DN, pg.Members[m]})
			}
		}
		if !ok {
			continue
		}
		received, known := standby.CSN[pg.EntryCSN.SID]
		standbyHasPrimarys := pg.EntryCSN.Raw != "" && known && !pg.EntryCSN.After(received)
		for _, m := range sortedKeys(sg.Members) {
			if _, has := pg.Members[m]; has {
				continue
			}
			if standbyHasPrimarys {
				d.Extra = append(d.Extra, Membership{sg.DN, sg.Members[m]})
			} else {
				d.StillGranted = append(d.StillGranted, Membership{sg.DN, sg.Members[m]})
			}
		}
	}
	for _, key := range sortedKeys(standby.Groups) {
		if _, ok := primary.Groups[key]; ok {
			continue
		}
		sg := standby.Groups[key]
		seen, known := primary.CSN[sg.EntryCSN.SID]
		deletedOnPrimary := sg.EntryCSN.Raw == "" || (known && !sg.EntryCSN.After(seen))
		for _, m := range sortedKeys(sg.Members) {
			if deletedOnPrimary {
				d.StillGranted = append(d.StillGranted, Membership{sg.DN, sg.Members[m]})
			} else {
				d.Extra = append(d.Extra, Membership{sg.DN, sg.Members[m]})
			}
		}
	}
	return d
}

// Subjects names the distinct members of ms, by their first RDN value.
func Subjects(ms []Membership) []string {
	var out []string
	for _, m := range ms {
		if n := subjectName(m.Member); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Groups counts the differences per group.
func (d DirectoryDiff) Groups() map[string]any {
	out := map[string]any{}
	add := func(ms []Membership, kind string) {
		for _, m := range ms {
			g, _ := out[m.Group].(map[string]int)
			if g == nil {
				g = map[string]int{"missing": 0, "extra": 0, "stillGranted": 0}
				out[m.Group] = g
			}
			g[kind]++
		}
	}
	add(d.Missing, "missing")
	add(d.Extra, "extra")
	add(d.StillGranted, "stillGranted")
	return out
}

// StillGrantedText names each revoked-but-still-granted subject with its
// groups: "mallory (uid=mallory,ou=people,dc=example,dc=com) in cn=finance,…".
func (d DirectoryDiff) StillGrantedText() string {
	var order []string
	groups := map[string][]string{}
	for _, m := range d.StillGranted {
		if _, ok := groups[m.Member]; !ok {
			order = append(order, m.Member)
		}
		groups[m.Member] = append(groups[m.Member], m.Group)
	}
	parts := make([]string, 0, len(order))
	for _, member := range order {
		parts = append(parts, fmt.Sprintf("%s (%s) in %s", subjectName(member), member, strings.Join(groups[member], " and ")))
	}
	return strings.Join(parts, "; ")
}

// membershipText renders up to n memberships, saying how many were left out.
func membershipText(ms []Membership, n int) []string {
	out := make([]string, 0, min(len(ms), n+1))
	for i, m := range ms {
		if i == n {
			out = append(out, fmt.Sprintf("and %d more", len(ms)-n))
			break
		}
		out = append(out, m.String())
	}
	return out
}

// DirectoryLag is how far the standby's directory is behind the primary's:
// for the server id the standby is furthest behind on, the primary's newest
// change and the standby's (equal when it is not behind).
type DirectoryLag struct {
	SID         string
	NewestAt    time.Time // the primary's newest change of that server
	SurvivingAt time.Time // the standby's newest change of that server
	// Note says when the lag is a bound, not a figure (the standby holds no
	// change of a server the primary has changes of).
	Note string
}

// Lag is NewestAt minus SurvivingAt.
func (l DirectoryLag) Lag() time.Duration { return max(l.NewestAt.Sub(l.SurvivingAt), 0) }

// LagOf compares two contextCSN sets, server id by server id; ok is false
// when the primary holds no contextCSN.
func LagOf(primary, standby map[string]CSN) (DirectoryLag, bool) {
	var out DirectoryLag
	found := false
	var newestStandby time.Time
	for _, c := range standby {
		if c.At.After(newestStandby) {
			newestStandby = c.At
		}
	}
	for _, sid := range sortedKeys(primary) {
		p := primary[sid]
		s, ok := standby[sid]
		lag := DirectoryLag{SID: sid, NewestAt: p.At, SurvivingAt: s.At}
		if !ok {
			lag.SurvivingAt = newestStandby
			lag.Note = fmt.Sprintf("the standby holds no change of server %s: its lag is measured from the standby's newest change of any server", sid)
		}
		if !p.After(s) && ok {
			lag.SurvivingAt = p.At // not behind on this server
		}
		if !found || lag.Lag() > out.Lag() || (lag.Lag() == out.Lag() && lag.NewestAt.After(out.NewestAt)) {
			out, found = lag, true
		}
	}
	return out, found
}
