package playbooks

import "strings"

// The rules of the playbook's JSON Schema beyond the shape of its types:
// what validate checks of a single value (patterns, bounds, closed sets,
// one-of rules), written so editors (yaml-language-server) and any JSON
// Schema validator flag it as it is typed. What a schema cannot say (a need
// names a step, no cycles, templates name what exists) is left to
// `drillctl playbook validate`. Patterns are ECMAScript regexps that Go's
// regexp reads the same way (no lookaround), so tests run them in Go too.

// Patterns of values that are known before the drill runs. A value holding
// a template ({{ … }}) or a secret reference (${…}) is only known at run
// time and is left alone, as validate does.
const (
	// templated matches a value known only at run time.
	templated = `\{\{|\$\{`

	// durationPattern accepts what ParseDuration accepts: Go duration text
	// ("90s", "1h30m", "0"), after at most 106751 whole days ("1d12h").
	durationPattern = `^\s*(?:\+?0*(?:[0-9]{1,5}|10[0-5][0-9]{3}|106[0-6][0-9]{2}|1067[0-4][0-9]|10675[01])d(?:\+?(?:` + goDuration + `|0))?|[-+]?0|\+?` + goDuration + `)\s*$`
	goDuration      = `(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+`

	// port is 1 to 65535, leading zeros allowed.
	port = `0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])`

	// httpURLPattern is an http:// or https:// URL with a host and, if
	// written, a valid port (validate's httpURL).
	httpURLPattern = templated + `|^[hH][tT][tT][pP][sS]?://(?:[^/?#]*@)?(?:\[[^\]/?#]*\]|[^/?#:@\[\]]+)(?::(?:` + port + `)?)?(?:[/?#].*)?$`

	// hostPortPattern is host:port with a valid port (validate's hostPort).
	hostPortPattern = templated + `|^(?:\[[^\]]*\]|[^:\[\]]*):` + port + `$`

	// secretRefsPattern: every ${…} is ${env:NAME} or ${file:/path}.
	secretRefsPattern = `^(?:[^$]|\$[^{]|\$$|\$\{env:[A-Za-z_][A-Za-z0-9_]*\}|\$\{file:[^}]+\})*$`

	// closedTemplatesPattern: every {{ is closed by a }}.
	closedTemplatesPattern = `^(?:[^{]|\{[^{]|\{$|\{\{(?:[^}]|\}[^}])*\}\})*$`

	// methodPattern is an HTTP method validate knows, in any case.
	methodPattern = `^(?:[gG][eE][tT]|[pP][oO][sS][tT]|[pP][uU][tT]|[pP][aA][tT][cC][hH]|[dD][eE][lL][eE][tT][eE]|[hH][eE][aA][dD]|[oO][pP][tT][iI][oO][nN][sS])$`

	// headerNamePattern is an HTTP token (RFC 9110), as isToken checks.
	headerNamePattern = "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$"

	// sshKeyPattern is an authorized_keys line: a key type, then the key,
	// whose base64 starts with AAAA (the length of the type name).
	sshKeyPattern = `^\s*[A-Za-z0-9@._-]+[ \t]+AAAA[A-Za-z0-9+/]*={0,2}(?:[ \t][^\r\n]*)?$`

	// availabilityPattern is a percentage like 99.9% (ParseAvailability).
	availabilityPattern = `^\s*\+?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*%\s*$`

	// secretOnlyPattern is one or more secret references and nothing else.
	secretOnlyPattern = `^\s*(?:\$\{(?:env|file):[^}]*\}\s*)+$`
)

// schemaOmits are YAML fields the schema leaves out, with why: the decoder
// reads them but validate refuses them.
var schemaOmits = map[string]string{
	"InventorySource.sql": "asset discovery over sql is not supported by this release",
}

// textPatterns are the checks of every string drillctl renders.
var textPatterns = []any{
	map[string]any{"pattern": secretRefsPattern, "patternErrorMessage": "a secret reference is written ${env:NAME} or ${file:/path}"},
	map[string]any{"pattern": closedTemplatesPattern, "patternErrorMessage": "a template action {{ … }} is not closed: expected }}"},
}

// schemaDefs are the schemas fields share, by name.
func schemaDefs() map[string]any {
	return map[string]any{
		"duration": map[string]any{
			"type": []string{"string", "integer"}, "pattern": durationPattern, "minimum": 0, "maximum": 0,
			"description":         "A duration: 90s, 15m, 4h, 1d12h.",
			"patternErrorMessage": "expected a duration like 90s, 15m, 4h or 1d12h (units: ns, us, ms, s, m, h, and whole days first)",
		},
		"positiveDuration": map[string]any{
			"$ref": "#/$defs/duration", "type": "string", "pattern": "[1-9]",
			"patternErrorMessage": "expected a duration above zero, like 10m",
		},
		"id": map[string]any{
			"type": "string", "pattern": idRE.String(),
			"patternErrorMessage": "expected letters, digits, dashes and underscores, starting with a letter or a digit",
		},
		"text": map[string]any{
			"type": "string", "allOf": textPatterns,
			"description": "Text; it may hold templates ({{ .params.NAME }}) and secret references (${env:NAME}, ${file:/path}).",
		},
		"scalarText": map[string]any{"type": scalarType, "allOf": textPatterns},
		"httpURL": map[string]any{
			"type": "string", "$ref": "#/$defs/text", "pattern": httpURLPattern,
			"patternErrorMessage": "expected an http:// or https:// URL with a host (and a port from 1 to 65535), like https://dr.example.com/failover",
		},
		"hostPort": map[string]any{
			"type": "string", "$ref": "#/$defs/text", "pattern": hostPortPattern,
			"patternErrorMessage": "expected host:port with a port from 1 to 65535, like db.internal:5432",
		},
		"ldapURL": map[string]any{
			"type": "string", "$ref": "#/$defs/text", "pattern": templated + `|^ldaps?://`,
			"patternErrorMessage": "expected an ldap:// or ldaps:// URL, like ldap://dc1.example.com:389",
		},
	}
}

// Rules shared by several fields.
var (
	scalarType  = []string{"string", "number", "boolean"}
	idList      = map[string]any{"items": ref("id")}
	statusCodes = map[string]any{"items": map[string]any{"type": "integer", "minimum": 100, "maximum": 599}}
	headerRules = map[string]any{
		"propertyNames":        map[string]any{"pattern": headerNamePattern, "patternErrorMessage": "expected a header name: letters, digits and dashes, like X-Request-Id"},
		"additionalProperties": map[string]any{"type": scalarType, "$ref": "#/$defs/scalarText", "pattern": `^[^\r\n]*$`, "patternErrorMessage": "a header value is one line"},
	}
	methodRule = map[string]any{
		"type": "string", "pattern": methodPattern, "examples": []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"},
		"patternErrorMessage": "expected GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS",
	}
	scalarMap = map[string]any{"additionalProperties": ref("scalarText")}
)

// fieldRules refine the schema of one field, by Go type and YAML name; a
// rule's keywords replace the generated ones.
var fieldRules = map[string]map[string]any{
	"Playbook.apiVersion": {"const": APIVersion},
	"Playbook.kind":       {"const": KindPlaybook},
	"Playbook.steps":      {"minItems": 1, "maxItems": MaxSteps},
	"Playbook.rollback": {"maxItems": MaxSteps, "items": map[string]any{
		"$ref": "#/properties/steps/items", "type": "object",
		"properties": map[string]any{"marks": map[string]any{
			"not": map[string]any{}, "description": "Rollback steps take no marks: the RTO is measured on the drill's steps.",
		}},
	}},
	"Playbook.finally":  {"maxItems": MaxSteps, "items": map[string]any{"$ref": "#/properties/steps/items"}},
	"Playbook.params":   {"additionalProperties": map[string]any{"type": scalarType, "maxLength": MaxParamBytes}},
	"Playbook.identity": {"enum": []string{IdentitySigned, IdentityUnverified}},

	"Metadata.name": {
		"pattern": nameRE.String(), "maxLength": 63,
		"patternErrorMessage": "expected lowercase letters, digits and dashes, like chat-platform-quarterly",
	},
	"Metadata.frequency":             {"enum": []string{FrequencyMonthly, FrequencyQuarterly, FrequencyYearly}},
	"Metadata.downtimeCostPerMinute": {"minimum": 0},
	"Metadata.tags":                  {"items": map[string]any{"type": scalarType}},
	"Metadata.labels":                {"additionalProperties": map[string]any{"type": scalarType}},
	"Targets.availability":           {"pattern": availabilityPattern, "patternErrorMessage": `expected a percentage like "99.9%"`},

	"Contact.keys": {"items": map[string]any{
		"type": "string", "$ref": "#/$defs/text", "pattern": sshKeyPattern,
		"patternErrorMessage": "expected an SSH public key, like ssh-ed25519 AAAA… alice@corp (cat ~/.ssh/id_ed25519.pub)",
	}},
	"WebhookChannel.url":     ref("httpURL"),
	"WebhookChannel.headers": headerRules,
	"SlackChannel.url":       ref("httpURL"),
	"DingTalkChannel.url":    ref("httpURL"),
	"PagerDutyChannel.url":   ref("httpURL"),
	"PagerDutyChannel.severity": {"anyOf": []any{
		map[string]any{"enum": []string{"critical", "error", "warning", "info"}},
		map[string]any{"type": "string", "pattern": templated},
	}},
	"EmailChannel.smtp":        ref("hostPort"),
	"EmailChannel.tls":         {"enum": []string{"implicit", "starttls"}},
	"EscalationPolicy.levels":  {"minItems": 1},
	"EscalationPolicy.repeat":  {"minimum": 0, "maximum": MaxAttempts},
	"EscalationLevel.contacts": {"minItems": 1},
	"EscalationLevel.ackTimeout": merged(ref("positiveDuration"),
		map[string]any{"description": "How long the level has to acknowledge before the next is paged."}),
	"Notifications.events": {"items": map[string]any{"enum": []string{"started", "step-failed", "target-missed", "finished"}}},
	"ReviewPolicy.signoff": {"uniqueItems": true, "items": map[string]any{
		"type": "string", "pattern": roleRE.String(),
		"patternErrorMessage": "expected a role in lowercase words joined by dashes, like dr-coordinator",
	}},

	"Step.id":           ref("id"),
	"Step.needs":        idList,
	"Step.compensate":   ref("id"),
	"Step.maxOutput":    {"minimum": 0, "maximum": MaxOutputLimit},
	"Retry.maxAttempts": {"minimum": 1, "maximum": MaxAttempts},
	"Retry.backoff": {"anyOf": []any{
		map[string]any{"const": 0}, map[string]any{"minimum": 1},
	}, "description": "The multiplier of the interval after each attempt: 1 or more (0: the default)."},

	"HTTPStep.url":           ref("httpURL"),
	"HTTPStep.method":        methodRule,
	"HTTPStep.headers":       headerRules,
	"HTTPStep.expectStatus":  statusCodes,
	"HTTPStep.expectJSON":    scalarMap,
	"HTTPCheck.url":          ref("httpURL"),
	"HTTPCheck.method":       methodRule,
	"HTTPCheck.headers":      headerRules,
	"HTTPCheck.expectStatus": statusCodes,
	"HTTPCheck.expectJSON":   scalarMap,
	"ExecStep.command":       {"minItems": 1, "items": ref("scalarText")},
	"ExecStep.env": {
		"propertyNames":        map[string]any{"pattern": `^[^=\x00]+$`, "patternErrorMessage": `expected a variable name without "=", like PGPASSWORD`},
		"additionalProperties": ref("scalarText"),
	},
	"ExecStep.expectExit": {"minimum": 0, "maximum": 255},
	"TCPCheck.address":    ref("hostPort"),
	"SQLCheck.expect":     ref("scalarText"),
	"SQLStep.args":        {"items": ref("scalarText")},

	"CanaryStep.verifyAfter":       ref("id"),
	"SitePair.primary":             ref("httpURL"),
	"SitePair.standby":             ref("httpURL"),
	"ReplicationCheckStep.compare": {"enum": []string{ComparePermissions, CompareMessages, CompareRecords, CompareFiles}},
	"Tolerance.maxDrift":           {"minimum": 0},
	"Tolerance.maxMissing":         {"minimum": 0},
	"LDAPPair.primary":             ref("ldapURL"),
	"LDAPPair.standby":             ref("ldapURL"),
	"LDAPPair.groupFilter": {"type": "string", "$ref": "#/$defs/text", "pattern": templated + `|^\([\s\S]*\)$`,
		"patternErrorMessage": "expected an LDAP filter in parentheses, like (objectClass=groupOfNames)"},
	"LDAPPair.bindPassword": {"type": "string", "$ref": "#/$defs/text", "pattern": secretOnlyPattern,
		"patternErrorMessage": "write the password as a ${env:NAME} or ${file:/path} reference, never a literal"},

	"ApprovalStep.approvers":    {"minItems": 1},
	"ApprovalStep.onTimeout":    {"enum": []string{"fail", "approve"}},
	"ApprovalStep.minApprovals": {"minimum": 1},
	"ApprovalStep.forbid":       {"items": map[string]any{"enum": []string{"initiator"}}},
	"ApprovalStep.auto":         {"enum": []string{"allowed"}},
	"WaitStep.duration":         merged(ref("positiveDuration"), map[string]any{"description": descriptions["duration"]}),
	"NotifyStep.to":             {"minItems": 1},
	"NotifyStep.message":        {"minLength": 1},

	"InventoryStep.concurrency": {"minimum": 0},
	"Asset.name":                {"minLength": 1},
	"Asset.tier":                {"minimum": 1, "maximum": 3, "description": "1 (critical) to 3."},
	"ReadinessRule.tier":        {"minimum": 1, "maximum": 3},
	"ReadinessRule.maxNotReady": {
		"type": []string{"string", "integer"}, "minimum": 0, "pattern": thresholdRE.String(),
		"patternErrorMessage": `expected a count ("0", "2") or a percentage ("10%")`,
	},

	"Guard.id":                 ref("id"),
	"Guard.from":               ref("id"),
	"Guard.until":              ref("id"),
	"Guard.tolerate":           {"minimum": 0},
	"PrometheusCheck.breachIf": {"pattern": breachRE.String(), "patternErrorMessage": `expected an operator (>, >=, <, <=, ==, !=) and a number, like "> 0.05"`},
}

// objectRules refine the schema of a struct (or of a step type's variant),
// by Go type: the one-of rules validate checks across fields.
var objectRules = map[string]map[string]any{
	"Channel": {"minProperties": 1, "maxProperties": 1,
		"description": "One way to reach the contact: exactly one of webhook, slack, dingtalk, pagerduty, email or console."},
	// The service_restored probe runs after the outage_start step, so it
	// needs at least one step (validate checks it needs that one).
	"ProbeStep": {
		"oneOf": exactlyOne("http", "tcp", "exec", "sql"),
		"if": map[string]any{"required": []string{"marks"},
			"properties": map[string]any{"marks": map[string]any{"const": string(MarkServiceRestored)}}},
		"then": map[string]any{"required": []string{"needs"},
			"properties": map[string]any{"needs": map[string]any{"type": "array", "minItems": 1,
				"errorMessage": "the service_restored probe runs after the outage_start step: add that step to needs"}}},
	},
	"Guard":           {"oneOf": exactlyOne("http", "tcp", "exec", "sql", "prometheus")},
	"Asset":           {"oneOf": append(exactlyOne("http", "tcp", "exec", "sql"), none("http", "tcp", "exec", "sql"))},
	"CanaryStep":      {"oneOf": exactlyOne("http", "sql")},
	"InventorySource": {"required": []string{"http"}},
	// A replication-check compares one kind of site, and each kind compares
	// what it can: records over sql, permissions over ldap, files over files.
	"ReplicationCheckStep": {"oneOf": []any{
		siteKind("http", ComparePermissions, CompareMessages),
		siteKind("sql", ComparePermissions, CompareMessages, CompareRecords),
		siteKind("ldap", ComparePermissions),
		siteKind("files", CompareFiles),
	}},
	"ApprovalStep": {"dependentSchemas": map[string]any{"auto": map[string]any{
		"required": []string{"onTimeout"}, "properties": map[string]any{"onTimeout": map[string]any{"const": "approve"}},
	}}},
	"LDAPPair": {"dependentRequired": map[string]any{"bindDN": []string{"bindPassword"}, "bindPassword": []string{"bindDN"}}},
}

// playbookRules are the rules across steps a schema can say: at most one
// step marks each end of the RTO, and a target needs the steps that measure
// it. "At most one" is written as "if it contains one, it contains at most
// one", so that a validator reading contains as "at least one" (draft 7,
// without maxContains) never flags a playbook without marks.
func playbookRules() []any {
	marked := func(m Mark) map[string]any {
		return map[string]any{"type": "object", "required": []string{"marks"}, "properties": map[string]any{"marks": map[string]any{"const": string(m)}}}
	}
	atMostOne := func(m Mark) map[string]any {
		return map[string]any{
			"if": map[string]any{"properties": map[string]any{"steps": map[string]any{"type": "array", "contains": marked(m)}}},
			"then": map[string]any{"properties": map[string]any{"steps": map[string]any{
				"type": "array", "contains": marked(m), "maxContains": 1,
				"errorMessage": "exactly one step marks " + string(m),
			}}},
		}
	}
	target := func(name string, steps ...map[string]any) map[string]any {
		var all []any
		for _, s := range steps {
			all = append(all, s)
		}
		return map[string]any{
			"if": map[string]any{"required": []string{"targets"},
				"properties": map[string]any{"targets": map[string]any{"type": "object", "required": []string{name}}}},
			"then": map[string]any{"properties": map[string]any{"steps": map[string]any{"allOf": all}}},
		}
	}
	contains := func(s map[string]any, msg string) map[string]any {
		return map[string]any{"type": "array", "contains": s, "errorMessage": msg}
	}
	ldapCheck := map[string]any{"type": "object", "required": []string{"type", "ldap"},
		"properties": map[string]any{"type": map[string]any{"const": string(StepReplicationCheck)}}}
	return []any{
		atMostOne(MarkOutageStart),
		atMostOne(MarkServiceRestored),
		target("rto",
			contains(marked(MarkOutageStart), "an rto target needs a step with marks: outage_start (the failover action)"),
			contains(marked(MarkServiceRestored), "an rto target needs a probe step with marks: service_restored")),
		target("permissionRpo",
			contains(ldapCheck, "a permissionRpo target needs a replication-check step comparing permissions over ldap")),
	}
}

// exactlyOne is a oneOf whose branches each require one of names: exactly
// one of them is written.
func exactlyOne(names ...string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"required": []string{n}, "title": n}
	}
	return out
}

// none is a oneOf branch where none of names is written.
func none(names ...string) map[string]any {
	props := map[string]any{}
	for _, n := range names {
		props[n] = false
	}
	return map[string]any{"properties": props, "title": "no check (" + strings.Join(names, ", ") + ")"}
}

// siteKind is the branch of a replication-check comparing over one kind of
// site, with what that kind compares.
func siteKind(kind string, compares ...string) map[string]any {
	return map[string]any{
		"title":      kind,
		"required":   []string{kind},
		"properties": map[string]any{"compare": map[string]any{"enum": compares}},
	}
}

// merged returns a copy of a with the keywords of b.
func merged(a, b map[string]any) map[string]any {
	out := map[string]any{}
	merge(out, a)
	merge(out, b)
	return out
}
