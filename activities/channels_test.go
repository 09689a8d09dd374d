package activities

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/acklink"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// capture records the requests a fake endpoint receives.
type capture struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	answer   string
	status   int
}

func (c *capture) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.requests = append(c.requests, r)
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
		if c.status != 0 {
			w.WriteHeader(c.status)
		}
		io.WriteString(w, c.answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (c *capture) json(t *testing.T, i int) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(c.bodies[i], &m))
	return m
}

func pageInput(ch playbooks.Channel) steps.PageInput {
	return steps.PageInput{DrillID: "drill-q4", Playbook: "chat", Step: "page", Level: 2, Round: 1, Contact: "bob",
		ContactName: "Bob Lee", Channel: ch, Message: "Drill starting", AckExpires: time.Now().Add(10 * time.Minute)}
}

func pagingActivities(env map[string]string) *Activities {
	a := newActivities(env)
	a.AckBaseURL, a.AckKey = "http://ack.example:8234", []byte("0123456789abcdef0123456789abcdef")
	return a
}

func TestSendPage_WebhookIsSignedAndCarriesTheAckLink(t *testing.T) {
	var c capture
	srv := c.serve(t)
	a := pagingActivities(map[string]string{"HOOK_SECRET": "hmac-key"})
	res, err := run2(t, a, "SendPage", pageInput(playbooks.Channel{Webhook: &playbooks.WebhookChannel{URL: srv.URL + "/hook", Secret: "${env:HOOK_SECRET}"}}))
	require.NoError(t, err)
	assert.Equal(t, "webhook", res.Channel)
	assert.True(t, res.AckURL)
	require.Len(t, c.requests, 1)
	r, body := c.requests[0], c.bodies[0]
	ts := r.Header.Get("X-Drillctl-Timestamp")
	mac := hmac.New(sha256.New, []byte("hmac-key"))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	assert.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), r.Header.Get("X-Drillctl-Signature"))
	m := c.json(t, 0)
	assert.Equal(t, "bob", m["contact"])
	assert.EqualValues(t, 2, m["level"])
	link := m["ackUrl"].(string)
	require.True(t, strings.HasPrefix(link, "http://ack.example:8234/ack/"))
	tok, err := acklink.Verify(a.AckKey, strings.TrimPrefix(link, "http://ack.example:8234/ack/"), time.Now())
	require.NoError(t, err)
	assert.Equal(t, acklink.Token{DrillID: "drill-q4", Step: "page", Contact: "bob", Level: 2, Expires: tok.Expires, Nonce: tok.Nonce,
		Channel: "webhook"}, tok, "the link says which channel carried it")
}

func TestSendPage_SlackMessageHasAnAcknowledgeButton(t *testing.T) {
	var c capture
	c.answer = "ok"
	srv := c.serve(t)
	_, err := run2(t, pagingActivities(nil), "SendPage", pageInput(playbooks.Channel{Slack: &playbooks.SlackChannel{URL: srv.URL + "/services/T0/B0/XXXX"}}))
	require.NoError(t, err)
	m := c.json(t, 0)
	assert.Contains(t, m["text"], "Drill starting")
	raw := string(c.bodies[0])
	assert.Contains(t, raw, `"type":"button"`)
	assert.Contains(t, raw, `"Acknowledge as bob"`)
	assert.Contains(t, raw, "http://ack.example:8234/ack/")
}

func TestSendPage_DingTalkIsSignedAsItsDocumentationSays(t *testing.T) {
	var c capture
	c.answer = `{"errcode":0,"errmsg":"ok"}`
	srv := c.serve(t)
	a := pagingActivities(map[string]string{"DT_SECRET": "SECabc123"})
	_, err := run2(t, a, "SendPage", pageInput(playbooks.Channel{DingTalk: &playbooks.DingTalkChannel{
		URL: srv.URL + "/robot/send?access_token=tok-777", Secret: "${env:DT_SECRET}"}}))
	require.NoError(t, err)
	q := c.requests[0].URL.Query()
	assert.Equal(t, "tok-777", q.Get("access_token"))
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	require.NoError(t, err)
	// Recompute: base64(HMAC-SHA256(key=secret, "timestamp\nsecret")); the query carries it URL-encoded.
	want, err := url.QueryUnescape(DingTalkSign(ts, "SECabc123"))
	require.NoError(t, err)
	assert.Equal(t, want, q.Get("sign"))
	m := c.json(t, 0)
	assert.Equal(t, "actionCard", m["msgtype"], "a page with an ack link has an acknowledge button")
	card := obj(t, m["actionCard"])
	assert.Equal(t, "Acknowledge as bob", card["singleTitle"])
	assert.Contains(t, card["singleURL"], "http://ack.example:8234/ack/")
}

func TestSendPage_DingTalkErrcodeIsAFailureWithoutTheToken(t *testing.T) {
	var c capture
	c.answer = `{"errcode":310000,"errmsg":"sign not match"}`
	srv := c.serve(t)
	_, err := run2(t, pagingActivities(map[string]string{"DT_URL": srv.URL + "/robot/send?access_token=very-secret-token"}), "SendPage",
		pageInput(playbooks.Channel{DingTalk: &playbooks.DingTalkChannel{URL: "${env:DT_URL}"}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "errcode 310000: sign not match")
	assert.NotContains(t, err.Error(), "very-secret-token")
}

func TestSendPage_PagerDutyTriggersAndResolvesTheLevelsIncident(t *testing.T) {
	var c capture
	c.status = http.StatusAccepted
	c.answer = `{"status":"success"}`
	srv := c.serve(t)
	ch := playbooks.Channel{PagerDuty: &playbooks.PagerDutyChannel{RoutingKey: "${env:PD_KEY}", URL: srv.URL + "/v2/enqueue"}}
	a := pagingActivities(map[string]string{"PD_KEY": "R0UT1NGKEY"})
	_, err := run2(t, a, "SendPage", pageInput(ch))
	require.NoError(t, err)
	resolve := pageInput(ch)
	resolve.Event = "resolve"
	_, err = run2(t, a, "SendPage", resolve)
	require.NoError(t, err)
	trigger, res := c.json(t, 0), c.json(t, 1)
	assert.Equal(t, "trigger", trigger["event_action"])
	assert.Equal(t, "R0UT1NGKEY", trigger["routing_key"])
	assert.Equal(t, "drill-q4/page/level-2", trigger["dedup_key"])
	assert.Equal(t, "critical", trigger["payload"].(map[string]any)["severity"])
	assert.Contains(t, string(c.bodies[0]), "Acknowledge in drillctl")
	assert.Equal(t, "resolve", res["event_action"])
	assert.Equal(t, trigger["dedup_key"], res["dedup_key"])
}

func TestSendPage_NonSuccessIsAnErrorThatNamesOnlyTheHost(t *testing.T) {
	var c capture
	c.status = http.StatusForbidden
	c.answer = "invalid_token"
	srv := c.serve(t)
	_, err := run2(t, pagingActivities(nil), "SendPage", pageInput(playbooks.Channel{Slack: &playbooks.SlackChannel{URL: srv.URL + "/services/T0/B0/s3cr3tpath"}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "status 403")
	assert.NotContains(t, err.Error(), "s3cr3tpath", "webhook paths carry tokens")
}

func TestSendPage_EmailOverSMTP(t *testing.T) {
	smtpSrv := newFakeSMTP(t)
	_, err := run2(t, pagingActivities(nil), "SendPage", pageInput(playbooks.Channel{Email: &playbooks.EmailChannel{
		To: "bob@example.com", From: "drills@example.com", SMTP: smtpSrv.addr}}))
	require.NoError(t, err)
	got := smtpSrv.message()
	assert.Equal(t, "drills@example.com", smtpSrv.from)
	assert.Equal(t, "bob@example.com", smtpSrv.to)
	assert.Contains(t, got, "Subject: DR drill chat: please acknowledge (level 2)")
	assert.Contains(t, got, `To: "Bob Lee" <bob@example.com>`)
	assert.Contains(t, got, "Acknowledge: http://ack.example:8234/ack/")
}

func TestSendPage_ConsoleLine(t *testing.T) {
	var out bytes.Buffer
	a := pagingActivities(nil)
	a.Console = &out
	_, err := run2(t, a, "SendPage", pageInput(playbooks.Channel{Console: &playbooks.ConsoleChannel{}}))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out.String(), "[PAGE] DR drill chat: please acknowledge (level 2) → bob (Bob Lee): Drill starting — ack: http://ack.example:8234/ack/"))
}

// run2 runs a paging activity in Temporal's activity test environment.
func run2(t *testing.T, a *Activities, name string, in steps.PageInput) (*steps.PageResult, error) {
	t.Helper()
	var err error
	in.Channel, err = playbooks.Render(in.Channel, playbooks.TemplateData{})
	require.NoError(t, err)
	env := newActivityEnv(a)
	v, err := env.ExecuteActivity(name, in)
	if err != nil {
		return nil, err
	}
	var res steps.PageResult
	require.NoError(t, v.Get(&res))
	return &res, nil
}

// fakeSMTP speaks just enough SMTP to receive one message.
type fakeSMTP struct {
	addr     string
	mu       sync.Mutex
	from, to string
	data     strings.Builder
	done     chan struct{}
}

func newFakeSMTP(t *testing.T) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	s := &fakeSMTP{addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		defer close(s.done)
		r := bufio.NewReader(conn)
		say := func(line string) { io.WriteString(conn, line+"\r\n") }
		say("220 fake ESMTP")
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			s.mu.Lock()
			switch {
			case inData && line == ".":
				inData = false
				say("250 queued")
			case inData:
				s.data.WriteString(line + "\n")
			case strings.HasPrefix(line, "EHLO"), strings.HasPrefix(line, "HELO"):
				say("250 fake")
			case strings.HasPrefix(line, "MAIL FROM:"):
				s.from = strings.Trim(strings.TrimPrefix(line, "MAIL FROM:"), "<> ")
				say("250 ok")
			case strings.HasPrefix(line, "RCPT TO:"):
				s.to = strings.Trim(strings.TrimPrefix(line, "RCPT TO:"), "<> ")
				say("250 ok")
			case line == "DATA":
				inData = true
				say("354 go ahead")
			case line == "QUIT":
				say("221 bye")
				s.mu.Unlock()
				return
			default:
				say("250 ok")
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *fakeSMTP) message() string {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.String()
}
