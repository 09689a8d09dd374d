package playbooks

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// document parses the one YAML document of a playbook file. A second
// document is an error: reading only the first, as a YAML library does,
// would drill something other than what the file shows. It returns nil when
// there is no document to decode.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			d.errorAt(1, 1, "", "the file holds no YAML document: expected a playbook")
		case len(d.errs) == 0: // a tab explains the syntax error better
			d.syntax(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		if len(d.errs) == 0 {
			d.syntax(err)
		}
		return nil
	default:
		d.errorAt(next.Line, 1, "", "a second YAML document starts here: a playbook file holds one playbook, "+
			"and drillctl would read only the first; remove this --- and what follows, or move it to a file of its own")
	}
	if len(root.Content) == 0 {
		d.errorAt(1, 1, "", "the file holds no YAML document: expected a playbook")
		return nil
	}
	return &root
}

func (d *decoder) syntax(err error) {
	line, msg := yamlErrorLine(err)
	d.errorAt(line, 1, "", "YAML syntax: "+msg)
}

// aliasBudget bounds what aliases bring into a decoded playbook (see
// MaxAliasNodes). Every value decoded while an alias is being expanded is
// charged, with its children, however deeply aliases nest; the first use of
// an anchor is free, as it is written out in the file.
type aliasBudget struct {
	depth int        // aliases being expanded
	used  int        // values charged so far
	alias *yaml.Node // the outermost alias being expanded
	path  string     // and where it is used
	err   *Error     // set once the budget is spent
}

// enter starts expanding alias n used at path; call the result when done.
func (b *aliasBudget) enter(n *yaml.Node, path string) func() {
	if b.depth == 0 {
		b.alias, b.path = n, path
	}
	b.depth++
	return func() { b.depth-- }
}

// spend charges the decoding of n; false means stop decoding.
func (d *decoder) spend(n *yaml.Node) bool {
	b := &d.budget
	if b.err != nil {
		return false
	}
	if b.depth == 0 {
		return true
	}
	b.used += 1 + len(n.Content)
	if b.used <= MaxAliasNodes {
		return true
	}
	b.err = &Error{File: d.file, Line: b.alias.Line, Col: b.alias.Column, Path: b.path,
		Msg: fmt.Sprintf("aliases expand to more than %d YAML values (MaxAliasNodes): every use of an alias copies its anchor, "+
			"and aliases inside anchors multiply; write the repeated part out, or use fewer aliases", MaxAliasNodes)}
	return false
}
