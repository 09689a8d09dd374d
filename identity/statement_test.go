package identity

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleStatement() Statement {
	return Statement{
		Drill:    "dr-2026-q4",
		Step:     "failover-db",
		Decision: DecisionApprove,
		Comment:  "replica lag 0s, go",
		At:       time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		Nonce:    "N0NCE",
		Signer:   "alice",
	}
}

func TestCanonical_GoldenEncoding(t *testing.T) {
	s := sampleStatement()
	s.Extra = map[string]string{"ticket": "OPS-42", "approver.role": "dba"}
	want := "drillctl-statement-v1\n" +
		"drill=dr-2026-q4\n" +
		"step=failover-db\n" +
		"decision=approve\n" +
		"signer=alice\n" +
		"at=2026-11-23T09:00:00Z\n" +
		"nonce=N0NCE\n" +
		"comment=replica lag 0s, go\n" +
		"extra.approver.role=dba\n" +
		"extra.ticket=OPS-42\n"
	assert.Equal(t, want, string(s.Canonical()))
}

func TestCanonical_NewlineInCommentCannotForgeAField(t *testing.T) {
	forged := sampleStatement()
	forged.Signer = "mallory"
	forged.Comment = "fine\nsigner=alice\r\ndecision=abort"
	got := string(forged.Canonical())

	assert.Contains(t, got, `comment=fine\nsigner=alice\r\ndecision=abort`+"\n")
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	var signers, decisions int
	for _, l := range lines {
		if strings.HasPrefix(l, "signer=") {
			signers++
		}
		if strings.HasPrefix(l, "decision=") {
			decisions++
		}
	}
	assert.Equal(t, 1, signers, "exactly one signer line")
	assert.Equal(t, 1, decisions, "exactly one decision line")
	assert.Contains(t, lines, "signer=mallory")
}

func TestCanonical_DistinctStatementsEncodeDistinctly(t *testing.T) {
	base := sampleStatement()
	with := func(f func(*Statement)) Statement { s := base; f(&s); return s }
	pairs := []struct {
		name string
		a, b Statement
	}{
		{"newline vs escaped newline text",
			with(func(s *Statement) { s.Comment = "a\nb" }),
			with(func(s *Statement) { s.Comment = `a\nb` })},
		{"comment vs step",
			with(func(s *Statement) { s.Step = ""; s.Comment = "x" }),
			with(func(s *Statement) { s.Step = "x"; s.Comment = "" })},
		{"equals in extra key",
			with(func(s *Statement) { s.Extra = map[string]string{"a=b": "c"} }),
			with(func(s *Statement) { s.Extra = map[string]string{"a": "b=c"} })},
		{"extra smuggled through comment",
			with(func(s *Statement) { s.Comment = "x\nextra.k=v" }),
			with(func(s *Statement) { s.Comment = "x"; s.Extra = map[string]string{"k": "v"} })},
		{"bidi override",
			with(func(s *Statement) { s.Comment = "ok\u202e" }),
			with(func(s *Statement) { s.Comment = `ok\u202e` })},
		{"invalid utf-8 byte",
			with(func(s *Statement) { s.Comment = "\xff" }),
			with(func(s *Statement) { s.Comment = `\xff` })},
		{"sub-second time",
			with(func(s *Statement) { s.At = s.At.Add(time.Nanosecond) }),
			base},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			assert.NotEqual(t, string(p.a.Canonical()), string(p.b.Canonical()))
		})
	}
}

func TestCanonical_EscapesLineBreaksAndInvisibleControls(t *testing.T) {
	s := sampleStatement()
	s.Comment = "tab\there\\back\x00nul\u2028ls\u200bzw\xfe"
	assert.Contains(t, string(s.Canonical()),
		`comment=tab\there\\back\x00nul\u2028ls\u200bzw\xfe`+"\n")
}

func TestCanonical_SameForAnyTimeZoneAndAfterJSON(t *testing.T) {
	s := sampleStatement()
	paris := time.FixedZone("CET", 3600)
	local := s
	local.At = s.At.In(paris)
	assert.Equal(t, s.Canonical(), local.Canonical())

	withMono := s
	withMono.At = time.Now()
	b, err := json.Marshal(withMono)
	require.NoError(t, err)
	var back Statement
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, string(withMono.Canonical()), string(back.Canonical()))

	nilExtra, emptyExtra := s, s
	emptyExtra.Extra = map[string]string{}
	assert.Equal(t, nilExtra.Canonical(), emptyExtra.Canonical())
}

func TestStatementValidate_RefusesIncompleteStatements(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Statement)
		want string
	}{
		{"ok", func(*Statement) {}, ""},
		{"no drill", func(s *Statement) { s.Drill = "" }, "drill is empty"},
		{"no decision", func(s *Statement) { s.Decision = "" }, "decision is empty"},
		{"decision not a word", func(s *Statement) { s.Decision = "Approve now" }, `decision "Approve now"`},
		{"no signer", func(s *Statement) { s.Signer = "" }, "signer is empty"},
		{"no nonce", func(s *Statement) { s.Nonce = "" }, "nonce is empty"},
		{"no time", func(s *Statement) { s.At = time.Time{} }, "at is not set"},
		{"bad extra key", func(s *Statement) { s.Extra = map[string]string{"Bad Key": "v"} }, `extra key "Bad Key"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sampleStatement()
			c.edit(&s)
			err := s.Validate()
			if c.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.ErrorIs(t, err, ErrInvalidStatement)
		})
	}
}
