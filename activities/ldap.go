package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// ldapTimeout bounds dialling a directory server and each of its answers.
const ldapTimeout = 10 * time.Second

// defaultGroupFilter selects the permission groups when the playbook names
// no filter.
const defaultGroupFilter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"

// compareDirectories executes a permissions comparison over ldap: the
// members of every group on both sites, the revoked-but-still-granted
// members, and the permission RPO from both servers' contextCSN. The result
// carries the comparison even when the step fails.
func (a *Activities) compareDirectories(ctx context.Context, sec *secrets, in steps.Input, res *steps.Result) error {
	spec := in.Step.ReplicationCheck
	l := *spec.LDAP
	primary, err := a.readDirectory(ctx, sec, l, l.Primary)
	if err != nil {
		return fmt.Errorf("primary: %w", err)
	}
	standby, err := a.readDirectory(ctx, sec, l, l.Standby)
	if err != nil {
		return fmt.Errorf("standby: %w", err)
	}
	diff := DiffDirectories(primary, standby)
	out := map[string]any{
		"primaryGroups":        len(primary.Groups),
		"standbyGroups":        len(standby.Groups),
		"drift":                diff.Count(),
		"missing":              membershipText(diff.Missing, 50),
		"extra":                membershipText(diff.Extra, 50),
		"stillGranted":         membershipText(diff.StillGranted, 50),
		"stillGrantedSubjects": Subjects(diff.StillGranted),
		"groups":               diff.Groups(),
		"primaryContextCSN":    csnTexts(primary.CSN),
		"standbyContextCSN":    csnTexts(standby.CSN),
	}
	res.Output = out
	if lag, ok := LagOf(primary.CSN, standby.CSN); ok {
		newest, surviving := lag.NewestAt, lag.SurvivingAt
		res.PermissionNewestAt, res.PermissionNewestSurvivingAt = &newest, &surviving
		out["primaryNewestChangeAt"] = newest.Format(time.RFC3339Nano)
		out["standbyNewestChangeAt"] = surviving.Format(time.RFC3339Nano)
		out["permissionLagSeconds"] = lag.Lag().Seconds()
		out["serverId"] = lag.SID
		if lag.Note != "" {
			out["lagNote"] = lag.Note
		}
	} else {
		out["lagNote"] = "the primary's " + l.BaseDN + " holds no contextCSN (not a syncprov provider, like Active Directory): the permission RPO is not measured"
	}
	if len(diff.StillGranted) > 0 {
		return fmt.Errorf("revoked on the primary but still granted on the standby: %s", truncate(diff.StillGrantedText(), 2000))
	}
	allowed := 0
	if spec.Tolerance != nil {
		allowed = spec.Tolerance.MaxDrift
	}
	if diff.Count() > allowed {
		parts := append(membershipText(diff.Missing, 5), membershipText(diff.Extra, 5)...)
		return fmt.Errorf("group membership differs between the sites (%d differences, %d allowed): missing on the standby or extra there: %s",
			diff.Count(), allowed, truncate(fmt.Sprint(parts), 1000))
	}
	return nil
}

func csnTexts(m map[string]CSN) []string {
	out := make([]string, 0, len(m))
	for _, sid := range sortedKeys(m) {
		out = append(out, m[sid].Raw)
	}
	return out
}

// readDirectory reads one server's permission groups and contextCSN. The
// connection is closed when ctx ends, which ends a search under way.
func (a *Activities) readDirectory(ctx context.Context, sec *secrets, l playbooks.LDAPPair, rawURL string) (Directory, error) {
	dir := Directory{Groups: map[string]DirGroup{}, CSN: map[string]CSN{}}
	addr, err := sec.resolve(rawURL)
	if err != nil {
		return dir, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	password, err := sec.resolve(l.BindPassword)
	if err != nil {
		return dir, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	conn, err := ldap.DialURL(addr, ldap.DialWithDialer(&net.Dialer{Timeout: ldapTimeout}))
	if err != nil {
		return dir, fmt.Errorf("connect to %s: %s", sec.scrub(addr), sec.scrub(err.Error()))
	}
	conn.SetTimeout(ldapTimeout)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	if l.BindDN != "" {
		if err := conn.Bind(l.BindDN, password); err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				return dir, temporal.NewNonRetryableApplicationError(fmt.Sprintf("bind to %s as %s: invalid credentials", sec.scrub(addr), l.BindDN), "BadCredentials", nil)
			}
			return dir, fmt.Errorf("bind to %s as %s: %s", sec.scrub(addr), l.BindDN, sec.scrub(err.Error()))
		}
	}
	base, err := conn.Search(ldap.NewSearchRequest(l.BaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(ldapTimeout.Seconds()), false,
		"(objectClass=*)", []string{"contextCSN"}, nil))
	if err != nil {
		return dir, fmt.Errorf("read the contextCSN of %s on %s: %s", l.BaseDN, sec.scrub(addr), sec.scrub(err.Error()))
	}
	for _, e := range base.Entries {
		for _, raw := range e.GetEqualFoldAttributeValues("contextCSN") {
			if c, ok := ParseCSN(raw); ok && (dir.CSN[c.SID].Raw == "" || c.After(dir.CSN[c.SID])) {
				dir.CSN[c.SID] = c
			}
		}
	}
	groupBase, filter := l.GroupBase, l.GroupFilter
	if groupBase == "" {
		groupBase = l.BaseDN
	}
	if filter == "" {
		filter = defaultGroupFilter
	}
	found, err := conn.SearchWithPaging(ldap.NewSearchRequest(groupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, int(ldapTimeout.Seconds()), false,
		filter, []string{"member", "uniqueMember", "entryCSN"}, nil), 500)
	if err != nil {
		var le *ldap.Error
		if errors.As(err, &le) && le.ResultCode == ldap.LDAPResultNoSuchObject {
			return dir, nil // no group at all
		}
		return dir, fmt.Errorf("search the groups under %s on %s: %s", groupBase, sec.scrub(addr), sec.scrub(err.Error()))
	}
	for _, e := range found.Entries {
		g := DirGroup{DN: e.DN, Members: map[string]string{}}
		g.EntryCSN, _ = ParseCSN(e.GetEqualFoldAttributeValue("entryCSN"))
		for _, m := range append(e.GetEqualFoldAttributeValues("member"), e.GetEqualFoldAttributeValues("uniqueMember")...) {
			g.Members[normDN(m)] = m
		}
		dir.Groups[normDN(e.DN)] = g
	}
	return dir, nil
}
