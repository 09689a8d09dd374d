package activities

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// received is one message as the real SMTP server (aiosmtpd, with the sink
// of testdata/mailsink.py) received it.
type received struct {
	HELO     string   `json:"helo"`
	MailFrom string   `json:"mailFrom"`
	RcptTos  []string `json:"rcptTos"`
	Data     string   `json:"data"` // base64 of the raw message
	raw      []byte
	msg      *mail.Message
}

// mailSink is a running aiosmtpd on loopback.
type mailSink struct {
	addr string
	got  chan received
}

// aiosmtpdPython finds a python3 that can import aiosmtpd: Debian's
// python3-aiosmtpd installs it for /usr/bin/python3, which need not be the
// first python3 on PATH.
func aiosmtpdPython() string {
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, py := range candidates {
		if exec.Command(py, "-c", "import aiosmtpd").Run() == nil {
			return py
		}
	}
	return ""
}

// startMailSink starts a real SMTP server (aiosmtpd) on loopback, or skips
// the test when aiosmtpd is not installed.
func startMailSink(t *testing.T) *mailSink {
	t.Helper()
	py := aiosmtpdPython()
	if py == "" {
		t.Skip("aiosmtpd is not installed: this test needs a real SMTP server (Debian: apt-get install python3-aiosmtpd)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	testdata, err := filepath.Abs("testdata")
	require.NoError(t, err)
	cmd := exec.Command(py, "-m", "aiosmtpd", "-n", "-l", addr, "-c", "mailsink.Sink")
	cmd.Env = append(cmd.Environ(), "PYTHONPATH="+testdata)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("aiosmtpd stderr:\n%s", stderr.String())
		}
	})
	s := &mailSink{addr: addr, got: make(chan received, 8)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r received
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				s.got <- r
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("aiosmtpd did not listen on %s: %v\n%s", addr, err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// next is the next message the server received, parsed with net/mail.
func (s *mailSink) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-s.got:
		raw, err := base64.StdEncoding.DecodeString(r.Data)
		require.NoError(t, err)
		r.raw = raw
		r.msg, err = mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err, "the message must parse:\n%s", raw)
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the SMTP server received no message")
		return received{}
	}
}

// header returns the raw header block of a message.
func (r received) header() string {
	h, _, _ := strings.Cut(strings.ReplaceAll(string(r.raw), "\r\n", "\n"), "\n\n")
	return h
}

// strictAddresses parses an address header as RFC 5322 and RFC 2047 say,
// decoding encoded words with mime.WordDecoder.
func strictAddresses(t *testing.T, r received, name string) []*mail.Address {
	t.Helper()
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{}}
	list, err := p.ParseList(r.msg.Header.Get(name))
	require.NoError(t, err, "%s: %q", name, r.msg.Header.Get(name))
	return list
}

func (r received) body(t *testing.T) string {
	t.Helper()
	var rd io.Reader = r.msg.Body
	if strings.EqualFold(r.msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		rd = quotedprintable.NewReader(rd)
	}
	b, err := io.ReadAll(rd)
	require.NoError(t, err)
	return string(b)
}

func emailPage(to, from string) steps.PageInput {
	return pageInput(playbooks.Channel{Email: &playbooks.EmailChannel{To: to, From: from}})
}

func TestSendPage_EmailThroughARealSMTPServer_NamesAreEncodedAndHeadersComplete(t *testing.T) {
	sink := startMailSink(t)
	in := emailPage("alice@example.com", "演练平台 <drills@example.com>")
	in.Channel.Email.SMTP, in.Channel.Email.HELO = sink.addr, "drill-worker.example.net"
	in.ContactName = "陈爱丽"
	_, err := run2(t, pagingActivities(nil), "SendPage", in)
	require.NoError(t, err)
	r := sink.next(t)

	assert.Equal(t, "drill-worker.example.net", r.HELO)
	assert.Equal(t, "drills@example.com", r.MailFrom, `MAIL FROM carries the address of "Name <addr>"`)
	assert.Equal(t, []string{"alice@example.com"}, r.RcptTos)
	for _, line := range strings.Split(r.header(), "\n") {
		for _, c := range []byte(line) {
			require.Less(t, c, byte(0x80), "a header must be 7-bit ASCII (RFC 2047 for names): %q", line)
		}
	}
	from := strictAddresses(t, r, "From")
	require.Len(t, from, 1)
	assert.Equal(t, mail.Address{Name: "演练平台", Address: "drills@example.com"}, *from[0])
	to := strictAddresses(t, r, "To")
	require.Len(t, to, 1)
	assert.Equal(t, mail.Address{Name: "陈爱丽", Address: "alice@example.com"}, *to[0])

	subject, err := new(mime.WordDecoder).DecodeHeader(r.msg.Header.Get("Subject"))
	require.NoError(t, err)
	assert.Equal(t, "DR drill chat: please acknowledge (level 2)", subject)
	assert.Regexp(t, regexp.MustCompile(`^<[^<>@\s]+@example\.com>$`), r.msg.Header.Get("Message-ID"))
	date, err := r.msg.Header.Date()
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), date, time.Minute)
	assert.Contains(t, r.body(t), "Acknowledge: http://ack.example:8234/ack/")
}

func TestSendPage_EmailCommaInANameStaysOneAddress(t *testing.T) {
	sink := startMailSink(t)
	in := emailPage("bob@example.com", "drills@example.com")
	in.Channel.Email.SMTP = sink.addr
	in.ContactName = "Lee, Bob"
	_, err := run2(t, pagingActivities(nil), "SendPage", in)
	require.NoError(t, err)
	r := sink.next(t)
	to := strictAddresses(t, r, "To")
	require.Len(t, to, 1, "To: %q", r.msg.Header.Get("To"))
	assert.Equal(t, mail.Address{Name: "Lee, Bob", Address: "bob@example.com"}, *to[0])
	assert.Equal(t, []string{"bob@example.com"}, r.RcptTos)
}

func TestSendPage_EmailHeaderInjectionAddsNoHeaderNorRecipient(t *testing.T) {
	sink := startMailSink(t)
	in := emailPage("bob@example.com", "drills@example.com")
	in.Channel.Email.SMTP = sink.addr
	in.ContactName = "Bob\r\nBcc: eve@evil.example"
	in.Playbook = "chat\r\nBcc: mallory@evil.example\r\nX-Injected: yes"
	_, err := run2(t, pagingActivities(nil), "SendPage", in)
	require.NoError(t, err)
	r := sink.next(t)
	assert.Empty(t, r.msg.Header.Get("Bcc"), "header:\n%s", r.header())
	assert.Empty(t, r.msg.Header.Get("X-Injected"), "header:\n%s", r.header())
	assert.Equal(t, []string{"bob@example.com"}, r.RcptTos, "no extra recipient")
	to := strictAddresses(t, r, "To")
	require.Len(t, to, 1)
	assert.Equal(t, "bob@example.com", to[0].Address)
	assert.NotContains(t, to[0].Name, "\n")
	assert.NotContains(t, r.header(), "evil.example>")
}

func TestSendPage_EmailDefaultsToTheMachinesNameForHELOAndSender(t *testing.T) {
	sink := startMailSink(t)
	in := emailPage("bob@example.com", "")
	in.Channel.Email.SMTP = sink.addr
	_, err := run2(t, pagingActivities(nil), "SendPage", in)
	require.NoError(t, err)
	r := sink.next(t)
	assert.NotEqual(t, "localhost", r.HELO, "EHLO names this machine")
	assert.Equal(t, machineFQDN(), r.HELO)
	assert.Equal(t, "drillctl@"+machineFQDN(), r.MailFrom)
	assert.NotEmpty(t, r.msg.Header.Get("Message-ID"))
	assert.Equal(t, "auto-generated", r.msg.Header.Get("Auto-Submitted"))
}

func TestSendPage_EmailBadAddressIsNotRetried(t *testing.T) {
	in := emailPage("bob@example.com", "not an address <")
	in.Channel.Email.SMTP = "127.0.0.1:1"
	_, err := run2(t, pagingActivities(nil), "SendPage", in)
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.True(t, app.NonRetryable(), "a malformed address fails the same way every time: %v", err)
	assert.Contains(t, err.Error(), "email from")
}

// plainSMTPListener accepts connections and answers like a plain SMTP
// server (a greeting, when greet is set), never speaking TLS.
func plainSMTPListener(t *testing.T, greet bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if greet {
					io.WriteString(c, "220 plain.example ESMTP\r\n")
				}
				_, _ = io.Copy(io.Discard, c) // until the client hangs up
			}()
		}
	}()
	return ln.Addr().String()
}

func TestSendPage_EmailImplicitTLSAgainstAPlainServerFailsFast(t *testing.T) {
	for _, greet := range []bool{true, false} {
		t.Run("greets="+strconv.FormatBool(greet), func(t *testing.T) {
			old := mailTimeout
			mailTimeout = time.Second
			t.Cleanup(func() { mailTimeout = old })
			in := emailPage("bob@example.com", "drills@example.com")
			in.Channel.Email.SMTP, in.Channel.Email.TLS = plainSMTPListener(t, greet), "implicit"
			start := time.Now()
			_, err := run2(t, pagingActivities(nil), "SendPage", in)
			require.Error(t, err)
			assert.Less(t, time.Since(start), 5*time.Second, "a TLS port that does not answer TLS must fail within the timeout: %v", err)
		})
	}
}

func TestMailImplicitTLS_OnPort465UnlessToldOtherwise(t *testing.T) {
	for _, c := range []struct {
		mode string
		port int
		want bool
	}{{"", 465, true}, {"", 587, false}, {"", 25, false}, {"implicit", 2465, true}, {"starttls", 465, false}} {
		got, err := mailImplicitTLS(c.mode, c.port)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "tls %q port %d", c.mode, c.port)
	}
	_, err := mailImplicitTLS("ssl", 465)
	assert.ErrorContains(t, err, `expected "implicit", "starttls"`)
}
