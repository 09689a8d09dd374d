package activities

import (
	"fmt"
	"os"
	"strings"

	"github.com/drillctl/drillctl/playbooks"
)

// secretRef matches the secret references this worker resolves: those the
// workflow sealed in the playbook's own literal text. A `${env:NAME}` that
// came from data (a param, a step output, a target's answer) is not sealed
// and stays text.
var secretRef = playbooks.SealedRef

// secrets resolves secret references for one activity execution and
// remembers every value it resolved, so they can be scrubbed from what the
// activity returns.
type secrets struct {
	lookup   func(string) (string, bool)
	resolved []string
}

func (a *Activities) secrets() *secrets {
	lookup := a.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &secrets{lookup: lookup}
}

// resolve replaces every sealed secret reference in text with its value.
func (s *secrets) resolve(text string) (string, error) {
	var firstErr error
	out := secretRef.ReplaceAllStringFunc(text, func(ref string) string {
		m := secretRef.FindStringSubmatch(ref)
		kind, name := m[1], m[2]
		var value string
		switch kind {
		case "env":
			v, ok := s.lookup(name)
			if !ok {
				if firstErr == nil {
					firstErr = fmt.Errorf("secret ${env:%s}: environment variable %s is not set on the worker", name, name)
				}
				return ""
			}
			value = v
		case "file":
			b, err := os.ReadFile(name)
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("secret ${file:%s}: %w", name, err)
				}
				return ""
			}
			value = strings.TrimRight(string(b), "\r\n")
		}
		if value != "" {
			s.resolved = append(s.resolved, value)
		}
		return value
	})
	return out, firstErr
}

// resolveMap resolves every value of m into a new map.
func (s *secrets) resolveMap(m map[string]string) (map[string]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		r, err := s.resolve(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}

// scrub replaces every resolved secret value in text with "[redacted]", in
// every form it can take on its way out (escaped, base64, hex: see
// secretForms); scrubbing twice changes nothing more.
func (s *secrets) scrub(text string) string {
	if len(s.resolved) == 0 {
		return text
	}
	return s.scrubber().scrub(text)
}

// scrubValue scrubs secrets from every string inside a JSON-like value.
func (s *secrets) scrubValue(v any) any {
	if len(s.resolved) == 0 {
		return v
	}
	return s.scrubber().value(v)
}

// scrubErr returns err with resolved secrets removed from its text.
func (s *secrets) scrubErr(err error) error {
	if err == nil || len(s.resolved) == 0 {
		return err
	}
	msg := err.Error()
	if clean := s.scrub(msg); clean != msg {
		if _, ok := err.(*unexpectedError); ok {
			return &unexpectedError{msg: clean}
		}
		return fmt.Errorf("%s", clean)
	}
	return err
}
