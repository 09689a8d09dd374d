package playbooks

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// Values that pass decoding but are known, before the drill starts, to fail
// or stall it: ports that do not exist, URLs a client cannot send to, status
// codes and exit statuses that never come, retry counts and output bounds
// that overflow the drill's history. Values holding a template ({{ … }}) or
// a secret reference (${…}) are only known at run time and are not judged.

// stepValues checks the values of one step that its run would trip on.
func (v *validator) stepValues(s *Step, path string) {
	if r := s.Retry; r != nil && r.MaxAttempts > MaxAttempts {
		v.at(path+".retry.maxAttempts", "expected at most %d (MaxAttempts), got %d: every attempt is recorded in the drill's Temporal history; "+
			"retry fewer times, with a longer maxInterval", MaxAttempts, r.MaxAttempts)
	}
	switch {
	case s.MaxOutput < 0:
		v.at(path+".maxOutput", "expected 0 (the default: %s) or more, got %d", sizeText(MaxOutputBytes), s.MaxOutput)
	case s.MaxOutput > MaxOutputLimit:
		v.at(path+".maxOutput", "expected at most %s (MaxOutputLimit), got %d: a step output travels in an activity result, "+
			"which Temporal refuses over 2 MB; the whole output is kept as an evidence attachment anyway", sizeText(MaxOutputLimit), s.MaxOutput)
	}
	switch {
	case s.HTTP != nil:
		v.httpURL(s.HTTP.URL, path+".url")
		v.headers(s.HTTP.Headers, path+".headers")
		v.statuses(s.HTTP.ExpectStatus, path+".expectStatus")
	case s.Exec != nil:
		v.execValues(*s.Exec, path)
	case s.Probe != nil:
		v.checkValues(s.Probe.Check, path)
		if s.Timeout > 0 && s.Probe.Interval > s.Timeout {
			v.at(path+".interval", "the probe checks every %s but times out after %s: it would check once and give up; "+
				"make the interval shorter than the timeout", shortDuration(s.Probe.Interval), shortDuration(s.Timeout))
		}
	case s.Inventory != nil:
		for i, a := range s.Inventory.Assets {
			v.checkValues(a.Check, fmt.Sprintf("%s.assets[%d]", path, i))
		}
		if d := s.Inventory.Discover; d != nil && d.HTTP != nil {
			v.checkValues(Check{HTTP: d.HTTP}, path+".discover")
		}
	case s.Canary != nil:
		v.sitePair(s.Canary.HTTP, path+".http")
	case s.ReplicationCheck != nil:
		v.sitePair(s.ReplicationCheck.HTTP, path+".http")
		if t := s.ReplicationCheck.Tolerance; t != nil {
			v.notNegative(t.MaxDrift, path+".tolerance.maxDrift")
			v.notNegative(t.MaxMissing, path+".tolerance.maxMissing")
		}
	}
}

// checkValues checks one health check; path is where its fields are written.
func (v *validator) checkValues(c Check, path string) {
	if c.HTTP != nil {
		v.httpURL(c.HTTP.URL, path+".http.url")
		v.headers(c.HTTP.Headers, path+".http.headers")
		v.statuses(c.HTTP.ExpectStatus, path+".http.expectStatus")
	}
	if c.TCP != nil {
		v.hostPort(c.TCP.Address, path+".tcp.address", "db.internal:5432")
	}
	if c.Exec != nil {
		v.execValues(*c.Exec, path+".exec")
	}
}

// execValues checks a program to run; path is where its fields are written.
func (v *validator) execValues(e ExecStep, path string) {
	if len(e.Command) > 0 && e.Command[0] == "" {
		v.at(path+".command[0]", "the program is empty: expected a program name or path (like pg_ctl)")
	}
	for _, name := range sortedNames(e.Env) {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			v.at(join(path, "env."+name), "env name %q is not valid: expected a name without \"=\" (like PGPASSWORD)", name)
		}
	}
	if x := e.ExpectExit; x != nil && (*x < 0 || *x > 255) {
		v.at(path+".expectExit", "expected an exit status from 0 to 255, got %d", *x)
	}
}

// contactValues checks the addresses of every channel and the escalation
// repeats.
func (v *validator) contactValues() {
	for _, name := range sortedNames(v.p.Contacts) {
		for i, ch := range v.p.Contacts[name].Channels {
			path := fmt.Sprintf("contacts.%s.channels[%d]", name, i)
			if w := ch.Webhook; w != nil {
				v.httpURL(w.URL, path+".webhook.url")
				v.headers(w.Headers, path+".webhook.headers")
			}
			if ch.Slack != nil {
				v.httpURL(ch.Slack.URL, path+".slack.url")
			}
			if ch.DingTalk != nil {
				v.httpURL(ch.DingTalk.URL, path+".dingtalk.url")
			}
			if pd := ch.PagerDuty; pd != nil {
				v.httpURL(pd.URL, path+".pagerduty.url")
				switch pd.Severity {
				case "", "critical", "error", "warning", "info":
				default:
					if isLiteral(pd.Severity) {
						v.at(path+".pagerduty.severity", "unknown severity %q: expected critical, error, warning or info (PagerDuty refuses others)", pd.Severity)
					}
				}
			}
			if ch.Email != nil {
				v.hostPort(ch.Email.SMTP, path+".email.smtp", "smtp.example.com:587")
			}
		}
	}
	for _, name := range sortedNames(v.p.Escalation) {
		if r := v.p.Escalation[name].Repeat; r > MaxAttempts {
			v.at("escalation."+name+".repeat", "expected at most %d (MaxAttempts), got %d: every round pages again and is recorded in the drill's history", MaxAttempts, r)
		}
	}
}

// durations refuses negative durations, which a typed playbook (not read
// from YAML) may hold.
func (v *validator) durations() {
	walkLeaves(reflect.ValueOf(*v.p), "", func(path string, x reflect.Value) {
		if x.Type() == durationType && x.Int() < 0 {
			v.at(path, "expected a duration of 0 or more, got %s", Duration(x.Int()))
		}
	})
}

func (v *validator) sitePair(p *SitePair, path string) {
	if p != nil {
		v.httpURL(p.Primary, path+".primary")
		v.httpURL(p.Standby, path+".standby")
	}
}

func (v *validator) notNegative(n int, path string) {
	if n < 0 {
		v.at(path, "expected 0 or more, got %d", n)
	}
}

func (v *validator) statuses(codes []int, path string) {
	for i, c := range codes {
		if c < 100 || c > 599 {
			v.at(fmt.Sprintf("%s[%d]", path, i), "expected an HTTP status from 100 to 599, got %d", c)
		}
	}
}

// headers checks header names (never templated) and values, which are one
// line each.
func (v *validator) headers(h map[string]string, path string) {
	for _, name := range sortedNames(h) {
		p := join(path, name)
		if !isToken(name) {
			v.at(p, "header name %q is not valid: expected letters, digits and dashes (like X-Request-Id)", name)
		}
		if strings.ContainsAny(h[name], "\r\n") {
			v.at(p, "header value holds a line break: a header value is one line; remove it")
		}
	}
}

// isToken reports whether s is an HTTP token (RFC 9110), as a header name is.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// httpURL checks a literal URL is one an HTTP client can send to.
func (v *validator) httpURL(raw, path string) {
	if raw == "" || !isLiteral(raw) {
		return
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" || strings.Trim(strings.ToLower(scheme), "abcdefghijklmnopqrstuvwxyz0123456789+.-") != "" {
		v.at(path, "%q: expected an http:// or https:// URL; write %q or %q", raw, "https://"+raw, "http://"+raw)
		return
	}
	if s := strings.ToLower(scheme); s != "http" && s != "https" {
		v.at(path, "%q: expected an http:// or https:// URL, got %s://", raw, scheme)
		return
	}
	authority := rest
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host, port := authority, ""
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.HasSuffix(authority, "]") {
		host, port = authority[:i], authority[i+1:]
	}
	switch {
	case strings.Trim(host, "[]") == "":
		v.at(path, "%q: no host: expected http://host:port", raw)
	case port != "" && portProblem(port) != "":
		v.at(path, "%q: %s", raw, portProblem(port))
	default:
		if _, err := url.Parse(raw); err != nil {
			msg := err.Error()
			if ue, ok := err.(*url.Error); ok {
				msg = ue.Err.Error()
			}
			v.at(path, "%q is not a valid URL: %s", raw, msg)
		}
	}
}

// hostPort checks a literal host:port address.
func (v *validator) hostPort(addr, path, example string) {
	if addr == "" || !isLiteral(addr) {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	switch {
	case err != nil || port == "":
		v.at(path, "%q: expected host:port (like %s)", addr, example)
	case portProblem(port) != "":
		v.at(path, "%q: %s", addr, portProblem(port))
	}
}

// portProblem says what is wrong with a port written in an address, or "".
// A service name ("smtp", "http") is refused: it means what the worker's
// /etc/services says, which validation cannot see.
func portProblem(port string) string {
	if strings.Trim(port, "0123456789") != "" {
		return fmt.Sprintf("port %q is not a number: expected 1 to 65535", port)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port %s is out of range: expected 1 to 65535", port)
	}
	return ""
}

// isLiteral reports whether text is known before the drill runs: it holds
// neither a template nor a secret reference.
func isLiteral(text string) bool {
	return !strings.Contains(text, "{{") && !strings.Contains(text, "${")
}

// shortDuration renders a duration without its zero tails: 2h, 1h30m, 90ms.
func shortDuration(d Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
