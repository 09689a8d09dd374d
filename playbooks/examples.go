package playbooks

import (
	"embed"
	"fmt"
)

// examples holds the shipped playbooks, so `drillctl demo` works from any
// folder.
//
//go:embed examples/*.yaml
var examples embed.FS

// Example loads a shipped playbook by file name (chat-platform-quarterly.yaml).
func Example(name string) (*Playbook, error) {
	data, err := examples.ReadFile("examples/" + name)
	if err != nil {
		return nil, fmt.Errorf("no shipped playbook %q: %w", name, err)
	}
	return Parse("playbooks/examples/"+name, data)
}
