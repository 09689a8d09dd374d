package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/i18n"
	"github.com/drillctl/drillctl/playbooks"
)

func TestConsole_PagesNeedASignedInPerson(t *testing.T) {
	tc := newTestConsole(t)
	for _, path := range []string{"/drills", "/drills/" + testDrillID, "/evidence", "/register", "/schedules"} {
		resp, _ := tc.get(tc.client(), path)
		assert.Equal(t, http.StatusSeeOther, resp.StatusCode, path)
		assert.Equal(t, "/signin?next="+url.QueryEscape(path), resp.Header.Get("Location"), path)
	}
	resp, _ := tc.post(tc.client(), "/drills/"+testDrillID+"/approve", url.Values{"step": {"go-no-go"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, tc.backend.approvals)
}

func TestConsole_ApproverDecidesTheGateAsThemselvesViaTheConsole(t *testing.T) {
	tc := newTestConsole(t)
	alice := tc.signedIn("alice")
	_, page := tc.get(alice, "/drills/"+testDrillID)
	assert.Contains(t, page, `action="/drills/`+testDrillID+`/approve"`, "alice is offered the gate")
	resp, body := tc.post(alice, "/drills/"+testDrillID+"/approve",
		url.Values{"csrf": {tc.csrf(alice)}, "step": {"go-no-go"}, "decision": {"go"}, "comment": {"window open"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	require.Len(t, tc.backend.approvals, 1)
	a := tc.backend.approvals[0]
	assert.Equal(t, "alice", a.By)
	assert.Equal(t, "console", a.Via)
	assert.Equal(t, "go-no-go", a.Step)
	assert.Equal(t, "window open", a.Comment)
	assert.False(t, a.Reject)
}

// The server refuses a decision from a person not allowed to make it: not
// only is the button hidden, the request itself gets 403 and Temporal
// never hears of it.
func TestConsole_ApprovalBySomeoneNotAllowedIsRefused403(t *testing.T) {
	tc := newTestConsole(t)
	for name, why := range map[string]string{
		"dave":  "dave is not an approver of go-no-go",
		"vera":  "vera is not an approver of go-no-go",
		"carol": "carol started this drill and may not approve it (four eyes)",
	} {
		c := tc.signedIn(name)
		_, page := tc.get(c, "/drills/"+testDrillID)
		assert.NotContains(t, page, `/approve"`, "%s is offered no approve form", name)
		resp, body := tc.post(c, "/drills/"+testDrillID+"/approve",
			url.Values{"csrf": {tc.csrf(c)}, "step": {"go-no-go"}, "decision": {"go"}})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, name)
		assert.Contains(t, body, why, name)
	}
	assert.Empty(t, tc.backend.approvals)
}

func TestConsole_PostWithoutTheSessionsCSRFTokenIsRefused(t *testing.T) {
	tc := newTestConsole(t)
	alice := tc.signedIn("alice")
	for _, token := range []string{"", "forged"} {
		resp, _ := tc.post(alice, "/drills/"+testDrillID+"/approve", url.Values{"csrf": {token}, "step": {"go-no-go"}, "decision": {"go"}})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	}
	// Another session's token does not do either.
	bob := tc.signedIn("bob")
	resp, _ := tc.post(alice, "/drills/"+testDrillID+"/approve", url.Values{"csrf": {tc.csrf(bob)}, "step": {"go-no-go"}, "decision": {"go"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, tc.backend.approvals)
}

func TestConsole_OnlyThePagedPersonAcknowledgesTheirPage(t *testing.T) {
	tc := newTestConsole(t)
	bob := tc.signedIn("bob")
	resp, body := tc.post(bob, "/drills/"+testDrillID+"/ack", url.Values{"csrf": {tc.csrf(bob)}, "step": {"page-admins"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, body, "bob was not paged by page-admins")
	assert.Empty(t, tc.backend.acks)

	alice := tc.signedIn("alice")
	_, page := tc.get(alice, "/drills/"+testDrillID)
	assert.Contains(t, page, "Acknowledge as alice")
	resp, _ = tc.post(alice, "/drills/"+testDrillID+"/ack", url.Values{"csrf": {tc.csrf(alice)}, "step": {"page-admins"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Len(t, tc.backend.acks, 1)
	assert.Equal(t, "alice", tc.backend.acks[0].By)
	assert.Equal(t, "console", tc.backend.acks[0].Via)
}

func TestConsole_AbortIsForTheDrillsPeopleAndNeedsAReason(t *testing.T) {
	tc := newTestConsole(t)
	vera := tc.signedIn("vera")
	resp, _ := tc.post(vera, "/drills/"+testDrillID+"/abort", url.Values{"csrf": {tc.csrf(vera)}, "reason": {"no"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a viewer only reads")

	bob := tc.signedIn("bob")
	resp, _ = tc.post(bob, "/drills/"+testDrillID+"/abort", url.Values{"csrf": {tc.csrf(bob)}, "reason": {" "}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = tc.post(bob, "/drills/"+testDrillID+"/abort", url.Values{"csrf": {tc.csrf(bob)}, "reason": {"real incident"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Len(t, tc.backend.aborts, 1)
	assert.Equal(t, "bob", tc.backend.aborts[0].By)
	assert.Equal(t, "real incident", tc.backend.aborts[0].Reason)
	assert.Equal(t, "console", tc.backend.aborts[0].Via)
}

func TestConsole_StartersStartDrillsAsThemselves(t *testing.T) {
	tc := newTestConsole(t)
	dave := tc.signedIn("dave")
	_, page := tc.get(dave, "/drills")
	assert.NotContains(t, page, "Start a drill of chat")
	resp, _ := tc.post(dave, "/drills", url.Values{"csrf": {tc.csrf(dave)}, "playbook": {"chat"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	carol := tc.signedIn("carol")
	_, page = tc.get(carol, "/drills")
	assert.Contains(t, page, "Start a drill of chat")
	resp, _ = tc.post(carol, "/drills", url.Values{"csrf": {tc.csrf(carol)}, "playbook": {"chat"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Len(t, tc.backend.started, 1)
	in := tc.backend.started[0]
	assert.Equal(t, "carol", in.Initiator)
	assert.True(t, strings.HasPrefix(in.DrillID, "drill-chat-"), in.DrillID)
	assert.Equal(t, "/drills/"+in.DrillID, resp.Header.Get("Location"))
}

// A playbook whose decisions must be signed gets the CLI command, since
// the console holds nobody's key; a POST is refused with the same command.
func TestConsole_SignedDrillShowsTheCLICommandInsteadOfAButton(t *testing.T) {
	tc := newTestConsole(t)
	d := tc.backend.drills[testDrillID]
	d.Record.Identity.Mode = playbooks.IdentitySigned
	alice := tc.signedIn("alice")
	_, page := tc.get(alice, "/drills/"+testDrillID)
	want := "drillctl drill approve " + testDrillID + " go-no-go --as alice"
	assert.Contains(t, page, want)
	assert.Contains(t, page, "drillctl drill ack "+testDrillID+" --step page-admins --as alice")
	assert.NotContains(t, page, `/approve"`)
	resp, body := tc.post(alice, "/drills/"+testDrillID+"/approve", url.Values{"csrf": {tc.csrf(alice)}, "step": {"go-no-go"}, "decision": {"go"}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Contains(t, body, want)
	assert.Empty(t, tc.backend.approvals)
}

func TestConsole_LivePollAnswersFragmentsAndActionsKey(t *testing.T) {
	tc := newTestConsole(t)
	alice := tc.signedIn("alice")
	req, _ := http.NewRequest(http.MethodGet, tc.ts.URL+"/drills/"+testDrillID+"/live", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := alice.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var live liveAnswer
	require.NoError(t, jsonDecode(resp, &live))
	assert.True(t, live.Running)
	assert.Contains(t, live.Live, "go-no-go")
	assert.Contains(t, live.Actions, "/approve")
	assert.Contains(t, live.Key, "g:go-no-go:true")
	assert.Contains(t, live.Summary, "gate go-no-go is waiting for a decision")

	anon, _ := http.NewRequest(http.MethodGet, tc.ts.URL+"/drills/"+testDrillID+"/live", nil)
	anon.Header.Set("Accept", "application/json")
	resp2, err := tc.client().Do(anon)
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp2.StatusCode)
}

// Every page renders in each of the five languages, with no catalog key
// left showing.
func TestConsole_EveryPageSpeaksTheFiveLanguages(t *testing.T) {
	tc := newTestConsole(t)
	alice := tc.signedIn("alice")
	for _, tag := range i18n.Supported {
		for _, path := range []string{"/drills", "/drills/" + testDrillID, "/evidence", "/register", "/schedules", "/signin?x=1"} {
			resp, body := tc.get(alice, path+sep(path)+"lang="+tag.String())
			if path == "/signin?x=1" {
				assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "signed in: sent on")
				_, body = tc.get(tc.client(), path+"&lang="+tag.String())
			} else {
				require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s", tag, path)
			}
			assert.Contains(t, body, `lang="`+tag.String()+`"`, "%s %s", tag, path)
			assert.NotRegexp(t, `console\.[a-z]+\.[a-zA-Z]`, body, "%s %s: a key is not translated", tag, path)
		}
	}
	_, body := tc.get(alice, "/drills?lang=ar")
	assert.Contains(t, body, `dir="rtl"`)
	_, body = tc.get(alice, "/drills")
	assert.Contains(t, body, `lang="ar"`, "the language is remembered")
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}
