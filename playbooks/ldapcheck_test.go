package playbooks

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// directoryPlaybook is a playbook whose only step is the given
// replication-check (its lines indented under the step).
func directoryPlaybook(targets, check string) string {
	return `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: directory}
` + targets + `steps:
  - id: permissions
    type: replication-check
` + check
}

func TestValidate_DirectoryAndFilesChecks(t *testing.T) {
	for _, tc := range []struct {
		name, targets, check string
		want                 []string
	}{
		{name: "ldap sites and a permission RPO target", targets: "targets: {permissionRpo: 1m}\n", check: `    compare: permissions
    ldap: {primary: "ldap://dc1:389", standby: "ldaps://dc2:636", baseDN: "dc=example,dc=com", bindDN: "cn=reader,dc=example,dc=com", bindPassword: "${env:LDAP_PW}"}
`},
		{name: "files", check: `    compare: files
    files: {dsn: "postgres://db/app", query: "SELECT path, sha256 FROM attachments", standby: /srv/files}
`},
		{name: "a literal password", check: `    compare: permissions
    ldap: {primary: "ldap://dc1", standby: "ldap://dc2", baseDN: "dc=x", bindDN: "cn=reader,dc=x", bindPassword: hunter2}
`, want: []string{"steps[0].ldap.bindPassword: write the password as a ${env:NAME} or ${file:/path} reference: the worker resolves it, and a literal would be kept in the drill's history"}},
		{name: "a reference with text around it", check: `    compare: permissions
    ldap: {primary: "ldap://dc1", standby: "ldap://dc2", baseDN: "dc=x", bindDN: "cn=reader,dc=x", bindPassword: "x${env:PW}"}
`, want: []string{"steps[0].ldap.bindPassword: expected only a ${env:NAME} or ${file:/path} reference, got text around it"}},
		{name: "missing fields and a wrong scheme", check: `    compare: messages
    ldap: {primary: "http://dc1", standby: "", bindDN: "cn=reader,dc=x", groupFilter: "objectClass=group"}
`, want: []string{
			`steps[0].compare: directories are compared for permissions: expected compare: permissions with ldap, got "messages"`,
			"steps[0].ldap.baseDN: missing: the replicated suffix, like dc=example,dc=com (its entry holds the contextCSN)",
			"steps[0].ldap.bindPassword: missing: bindDN cn=reader,dc=x needs a password, written as a ${env:NAME} or ${file:/path} reference",
			`steps[0].ldap.primary: "http://dc1": expected an ldap:// or ldaps:// URL`,
			"steps[0].ldap.standby: missing: the standby directory server's URL, like ldap://dc1.example.com:389",
			`steps[0].ldap.groupFilter: "objectClass=group": expected an LDAP filter in parentheses, like (objectClass=groupOfNames)`,
		}},
		{name: "two kinds of site", check: `    compare: permissions
    http: {primary: "http://a", standby: "http://b"}
    ldap: {primary: "ldap://dc1", standby: "ldap://dc2", baseDN: "dc=x"}
`, want: []string{"steps[0]: a replication-check takes one kind of site: ldap, or http, sql or files, not several"}},
		{name: "files without its fields", check: `    compare: files
    files: {query: "SELECT path FROM attachments"}
`, want: []string{
			"steps[0].files: missing dsn and standby: files needs dsn and query (the standby's records that name the files) and standby (its file store, a folder the worker reads)",
		}},
		{name: "compare files with no store", check: `    compare: files
    sql: {primary: "postgres://a/x", standby: "postgres://b/x"}
`, want: []string{"steps[0]: compare: files needs files (dsn, query and the standby's folder)"}},
		{name: "a permission RPO nothing measures", targets: "targets: {permissionRpo: 1m}\n", check: `    compare: permissions
    sql: {primary: "postgres://a/x", standby: "postgres://b/x"}
`, want: []string{"targets.permissionRpo: a permissionRpo target needs a replication-check step comparing permissions over ldap (it measures the directory's lag)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("directory.yaml", []byte(directoryPlaybook(tc.targets, tc.check)))
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			var list ErrorList
			require.True(t, errors.As(err, &list), "%v", err)
			var got []string
			for _, e := range list {
				msg := e.Error()
				got = append(got, msg[strings.Index(msg, ": ")+2:]) // drop file:line:col
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
