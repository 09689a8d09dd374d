package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

// path returns a link's path and query on the test server.
func (tc *testConsole) path(link string) string {
	return strings.TrimPrefix(link, tc.ts.URL)
}

func TestSignIn_ALinkSignsInOnceAndItsGetSignsInNobody(t *testing.T) {
	tc := newTestConsole(t)
	link := SignInLink(tc.key, tc.ts.URL, "alice", time.Minute, time.Now())
	c := tc.client()
	resp, body := tc.get(c, tc.path(link))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Sign in as alice")
	assert.Empty(t, resp.Cookies(), "a preview (mail scanner) signs nobody in")

	resp, _ = tc.post(c, tc.path(link), nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	require.NotNil(t, sess)
	assert.True(t, sess.Secure)
	assert.True(t, sess.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, sess.SameSite)
	_, page := tc.get(c, "/drills")
	assert.Contains(t, page, "Signed in as alice")

	resp, body = tc.post(tc.client(), tc.path(link), nil)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "used once only")
	assert.Contains(t, body, "was used already")
}

func TestSignIn_ExpiredForeignAndTamperedLinksAreRefused(t *testing.T) {
	tc := newTestConsole(t)
	expired := SignInLink(tc.key, tc.ts.URL, "alice", time.Minute, time.Now().Add(-time.Hour))
	resp, _ := tc.post(tc.client(), tc.path(expired), nil)
	assert.Equal(t, http.StatusGone, resp.StatusCode)

	foreign := SignInLink([]byte("another console's key, 32 bytes!"), tc.ts.URL, "alice", time.Minute, time.Now())
	resp, _ = tc.post(tc.client(), tc.path(foreign), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	good := SignInLink(tc.key, tc.ts.URL, "alice", time.Minute, time.Now())
	payload, sig, _ := strings.Cut(strings.TrimPrefix(tc.path(good), "/signin/"), ".")
	resp, _ = tc.post(tc.client(), "/signin/"+payload+"x."+sig, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestSignIn_ASessionCookieFromAnotherKeyIsNoSession(t *testing.T) {
	tc := newTestConsole(t)
	forged, err := sealJSON([]byte("not the console's session key!!"), session{Name: "alice", ID: "x", Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, tc.ts.URL+"/drills", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: forged})
	resp, err := tc.client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

var linkRE = regexp.MustCompile(`https://\S+/signin/\S+`)

// The sign-in page sends a link to a known person's channel (the console's
// log) and says the same for anybody, so it tells nobody who is known.
func TestSignIn_AskedForLinksGoOnlyToKnownPeople(t *testing.T) {
	tc := newTestConsole(t)
	resp, forMallory := tc.post(tc.client(), "/signin", url.Values{"name": {"mallory"}, "next": {"/schedules"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, tc.log.String())

	for _, name := range []string{"alice", "vera"} {
		resp, body := tc.post(tc.client(), "/signin", url.Values{"name": {name}, "next": {"/schedules"}})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, strings.ReplaceAll(forMallory, "mallory", name), body)
		assert.Contains(t, tc.log.String(), "sign-in link for "+name)
	}
	links := linkRE.FindAllString(tc.log.String(), -1)
	require.Len(t, links, 2)
	c := tc.client()
	resp, _ = tc.post(c, tc.path(links[0]), url.Values{"next": {"/schedules"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/schedules", resp.Header.Get("Location"))

	req, _ := http.NewRequest(http.MethodPost, tc.ts.URL+"/signin", strings.NewReader("name=alice"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := tc.client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no sign-in forms posted from other sites")
}

func TestSignIn_NextNeverLeavesTheSite(t *testing.T) {
	for in, want := range map[string]string{
		"/drills/x": "/drills/x", "//evil.example": "/drills", "https://evil.example": "/drills",
		"/\\evil": "/drills", "": "/drills",
	} {
		assert.Equal(t, want, localPath(in), in)
	}
}

func TestSignOut_EndsTheSession(t *testing.T) {
	tc := newTestConsole(t)
	alice := tc.signedIn("alice")
	resp, _ := tc.post(alice, "/signout", url.Values{"csrf": {tc.csrf(alice)}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = tc.get(alice, "/drills")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
}
