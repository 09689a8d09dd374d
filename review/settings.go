package review

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/drillctl/drillctl/playbooks"
)

// Settings are what reviews and the register read of a playbook: who its
// people are, its identity mode, the roles its reviews need, how often it
// must pass, and what its downtime costs.
type Settings struct {
	Name string
	// File and Digest: the playbook file and "sha256:<hex>" of its bytes.
	File, Digest string
	Identity     string
	Contacts     map[string]string   // id → name
	Keys         map[string][]string // id → authorized_keys lines
	Signoff      []string
	Frequency    string
	Availability string
	CostPerMin   float64
}

// lenientPlaybook is the part of a playbook Settings reads, decoded
// leniently: a bundle's playbook.yaml was valid for the release that ran
// it, not necessarily for this one.
type lenientPlaybook struct {
	Identity       string `yaml:"identity"`
	AllowedSigners string `yaml:"allowedSigners"`
	Metadata       struct {
		Name                  string  `yaml:"name"`
		Frequency             string  `yaml:"frequency"`
		DowntimeCostPerMinute float64 `yaml:"downtimeCostPerMinute"`
	} `yaml:"metadata"`
	Targets struct {
		Availability string `yaml:"availability"`
	} `yaml:"targets"`
	Contacts map[string]struct {
		Name string   `yaml:"name"`
		Keys []string `yaml:"keys"`
	} `yaml:"contacts"`
	Review struct {
		Signoff []string `yaml:"signoff"`
	} `yaml:"review"`
}

// SettingsOf reads the settings of a playbook's bytes leniently (a
// drill bundle's playbook.yaml). Unreadable YAML gives empty settings.
func SettingsOf(raw []byte) Settings {
	var p lenientPlaybook
	_ = yaml.Unmarshal(raw, &p) // what decodes is kept
	s := Settings{Name: p.Metadata.Name, Digest: digestOf(raw), Identity: p.Identity, Contacts: map[string]string{}, Keys: map[string][]string{},
		Signoff: p.Review.Signoff, Frequency: p.Metadata.Frequency, Availability: p.Targets.Availability, CostPerMin: p.Metadata.DowntimeCostPerMinute}
	for id, c := range p.Contacts {
		s.Contacts[id] = c.Name
		if len(c.Keys) > 0 {
			s.Keys[id] = c.Keys
		}
	}
	if s.Identity == "" {
		s.Identity = playbooks.IdentityUnverified
		if len(s.Keys) > 0 || p.AllowedSigners != "" {
			s.Identity = playbooks.IdentitySigned
		}
	}
	return s
}

// settingsOfPlaybook reads the settings of a playbook loaded and validated
// by package playbooks.
func settingsOfPlaybook(p *playbooks.Playbook) Settings {
	s := Settings{Name: p.Metadata.Name, File: p.Source.Path, Digest: p.Source.Digest, Identity: p.IdentityMode(),
		Contacts: map[string]string{}, Keys: map[string][]string{}, Signoff: p.RequiredSignoffs(),
		Frequency: p.Metadata.Frequency, Availability: p.Targets.Availability, CostPerMin: p.Metadata.DowntimeCostPerMinute}
	for id, c := range p.Contacts {
		s.Contacts[id] = c.Name
		if keys := p.KeysOf(id); len(keys) > 0 {
			s.Keys[id] = keys
		}
	}
	return s
}

// LoadPlaybooks loads and validates every playbook file of dir (*.yaml and
// *.yml, and those one folder down), by name. A file that does not
// validate is an error naming it: the register must not guess what a
// broken playbook requires.
func LoadPlaybooks(dir string) (map[string]Settings, error) {
	out := map[string]Settings{}
	if dir == "" {
		return out, nil
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("--playbooks %s: not a folder", dir)
	}
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml", "*/*.yaml", "*/*.yml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		files = append(files, m...)
	}
	sort.Strings(files)
	var errs []error
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read playbook: %w", err)
		}
		var head struct {
			Kind string `yaml:"kind"`
		}
		if yaml.Unmarshal(raw, &head) != nil || head.Kind != playbooks.KindPlaybook {
			continue // not a playbook (an allowed_signers file, a schedule…)
		}
		p, err := playbooks.Load(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := out[p.Metadata.Name]; ok {
			errs = append(errs, fmt.Errorf("%s: playbook %q is also in %s", f, p.Metadata.Name, prev.File))
			continue
		}
		out[p.Metadata.Name] = settingsOfPlaybook(p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--playbooks %s: no playbook found", dir)
	}
	return out, nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
