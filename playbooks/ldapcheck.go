package playbooks

import (
	"fmt"
	"strings"
)

// Rules of the replication checks that read real components beside the
// HTTP contract and SQL: directories (ldap, compare: permissions) and file
// stores (files, compare: files), and of the permissionRpo target they
// measure.

// directoryRules checks every replication-check over ldap or files, and
// that a permissionRpo target has a directory comparison to measure it.
func (v *validator) directoryRules() {
	measured := false
	for _, list := range []struct {
		name  string
		steps []Step
	}{{"steps", v.p.Steps}, {"rollback", v.p.Rollback}, {"finally", v.p.Finally}} {
		for i := range list.steps {
			s := &list.steps[i]
			rc := s.ReplicationCheck
			if s.Type != StepReplicationCheck || rc == nil {
				continue
			}
			path := fmt.Sprintf("%s[%d]", list.name, i)
			if rc.LDAP != nil {
				v.ldapPair(rc, path)
				measured = measured || list.name == "steps"
			}
			if rc.Files != nil {
				v.filesCompare(rc, path)
			}
			if rc.Compare == CompareFiles && rc.Files == nil {
				v.at(path, "compare: files needs files (dsn, query and the standby's folder)")
			}
		}
	}
	if v.p.Targets.PermissionRPO != nil && !measured {
		v.at("targets.permissionRpo", "a permissionRpo target needs a replication-check step comparing permissions over ldap (it measures the directory's lag)")
	}
}

// ldapPair checks a directory comparison.
func (v *validator) ldapPair(rc *ReplicationCheckStep, path string) {
	l := rc.LDAP
	if rc.Compare != ComparePermissions {
		v.at(path+".compare", "directories are compared for permissions: expected compare: permissions with ldap, got %q", rc.Compare)
	}
	if rc.HTTP != nil || rc.SQL != nil || rc.Files != nil {
		v.at(path, "a replication-check takes one kind of site: ldap, or http, sql or files, not several")
	}
	for _, f := range []struct{ name, url string }{{"primary", l.Primary}, {"standby", l.Standby}} {
		switch {
		case f.url == "":
			v.at(path+".ldap."+f.name, "missing: the %s directory server's URL, like ldap://dc1.example.com:389", f.name)
		case isLiteral(f.url) && !strings.HasPrefix(f.url, "ldap://") && !strings.HasPrefix(f.url, "ldaps://"):
			v.at(path+".ldap."+f.name, "%q: expected an ldap:// or ldaps:// URL", f.url)
		}
	}
	if l.BaseDN == "" {
		v.at(path+".ldap.baseDN", "missing: the replicated suffix, like dc=example,dc=com (its entry holds the contextCSN)")
	}
	if f := l.GroupFilter; f != "" && isLiteral(f) && (!strings.HasPrefix(f, "(") || !strings.HasSuffix(f, ")")) {
		v.at(path+".ldap.groupFilter", "%q: expected an LDAP filter in parentheses, like (objectClass=groupOfNames)", f)
	}
	switch pw := l.BindPassword; {
	case pw == "" && l.BindDN != "":
		v.at(path+".ldap.bindPassword", "missing: bindDN %s needs a password, written as a ${env:NAME} or ${file:/path} reference", l.BindDN)
	case pw != "" && l.BindDN == "":
		v.at(path+".ldap.bindDN", "missing: the account bindPassword is the password of")
	case pw != "" && !literalRef.MatchString(pw):
		v.at(path+".ldap.bindPassword", "write the password as a ${env:NAME} or ${file:/path} reference: the worker resolves it, and a literal would be kept in the drill's history")
	case pw != "" && strings.TrimSpace(literalRef.ReplaceAllString(pw, "")) != "":
		v.at(path+".ldap.bindPassword", "expected only a ${env:NAME} or ${file:/path} reference, got text around it")
	}
}

// filesCompare checks a comparison of records with a file store.
func (v *validator) filesCompare(rc *ReplicationCheckStep, path string) {
	f := rc.Files
	if rc.Compare != CompareFiles {
		v.at(path+".compare", "a file store is compared for files: expected compare: files with files, got %q", rc.Compare)
	}
	if rc.HTTP != nil || rc.SQL != nil {
		v.at(path, "a replication-check takes one kind of site: files, or http or sql, not several")
	}
	var missing []string
	for _, x := range []struct{ name, value string }{{"dsn", f.DSN}, {"query", f.Query}, {"standby", f.Standby}} {
		if x.value == "" {
			missing = append(missing, x.name)
		}
	}
	if len(missing) > 0 {
		v.at(path+".files", "missing %s: files needs dsn and query (the standby's records that name the files) and standby (its file store, a folder the worker reads)",
			strings.Join(missing, " and "))
	}
}
