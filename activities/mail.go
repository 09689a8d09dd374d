package activities

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	// go-mail, not net/smtp: net/smtp is frozen and leaves every part of
	// the message to its caller. go-mail RFC 2047-encodes display names
	// (a Chinese name stays readable), parses and quotes addresses (a comma
	// in a name stays one address; "Name <addr>" works as a sender), writes
	// Message-ID and Date, speaks STARTTLS or implicit TLS (port 465), sets
	// the EHLO name, bounds every exchange with a timeout, and builds the
	// header itself, so a CR/LF in a value cannot inject a header.
	gomail "github.com/wneessen/go-mail"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
)

// mailTimeout bounds the connection to the SMTP server (dial, TLS
// handshake) and then each SMTP exchange.
var mailTimeout = 10 * time.Second

// Email TLS modes (playbooks.EmailChannel.TLS).
const (
	mailTLSAuto     = ""         // implicit on port 465, else STARTTLS when offered
	mailTLSImplicit = "implicit" // TLS from the first byte (SMTPS)
	mailTLSStartTLS = "starttls" // STARTTLS required
)

// sendEmail sends a page or notification by e-mail.
func (a *Activities) sendEmail(ctx context.Context, sec *secrets, ch playbooks.EmailChannel, contactName string, m pageMessage) (string, error) {
	bad := func(format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), "BadStep", nil)
	}
	addr, err := sec.resolve(ch.SMTP)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	host, portText, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || host == "" || perr != nil || port < 1 || port > 65535 {
		return addr, bad("email smtp %q: expected host:port", addr)
	}
	implicit, err := mailImplicitTLS(ch.TLS, port)
	if err != nil {
		return addr, bad("email: %v", err)
	}
	to, err := sec.resolve(ch.To)
	if err != nil {
		return addr, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	rcpts, err := mailRecipients(to, contactName)
	if err != nil {
		return addr, bad("email to: %v", sec.scrub(err.Error()))
	}
	from, err := mailSender(ch.From)
	if err != nil {
		return addr, bad("email from %q: %v", ch.From, err)
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	msg.ToMailAddress(rcpts...)
	msg.Subject(headerText(m.Title))
	msg.SetDateWithValue(m.SentAt)
	msg.SetMessageIDWithValue(messageID(from.Address))
	msg.SetUserAgent("drillctl")
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies to pages
	msg.SetBodyString(gomail.TypeTextPlain, m.text()+"\n")

	helo := strings.TrimSpace(ch.HELO)
	if helo == "" {
		helo = machineFQDN()
	}
	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithHELO(helo),
		gomail.WithTimeout(mailTimeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}),
	}
	switch {
	case implicit:
		opts = append(opts, gomail.WithSSL())
	case ch.TLS == mailTLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if ch.Username != "" {
		user, err := sec.resolve(ch.Username)
		if err != nil {
			return addr, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
		pass, err := sec.resolve(ch.Password)
		if err != nil {
			return addr, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
		// The strongest mechanism the server offers; without TLS, only
		// those that never send the password in clear.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	client, err := gomail.NewClient(host, opts...)
	if err != nil {
		return addr, bad("email smtp %s: %v", addr, sec.scrub(err.Error()))
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return addr, fmt.Errorf("email via smtp %s: %s", addr, sec.scrub(err.Error()))
	}
	return addr, nil
}

// mailImplicitTLS says whether a connection speaks TLS from its first byte:
// asked for, or (by default) on port 465, where a server waits for the TLS
// handshake and a plain SMTP client would wait for a greeting forever.
func mailImplicitTLS(mode string, port int) (bool, error) {
	switch mode {
	case mailTLSImplicit:
		return true, nil
	case mailTLSStartTLS:
		return false, nil
	case mailTLSAuto:
		return port == gomail.DefaultPortSSL, nil
	}
	return false, fmt.Errorf("tls %q: expected %q, %q or nothing", mode, mailTLSImplicit, mailTLSStartTLS)
}

// mailRecipients parses the channel's "to" (one address or a list); an
// address written without a name gets the contact's name.
func mailRecipients(to, contactName string) ([]*mail.Address, error) {
	list, err := mail.ParseAddressList(to)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", to, err)
	}
	for _, r := range list {
		if r.Name == "" && len(list) == 1 {
			r.Name = contactName
		}
		r.Name = headerText(r.Name)
	}
	return list, nil
}

// mailSender parses the channel's "from" ("Name <addr>" or addr); the
// default is drillctl@ the machine's fully qualified name.
func mailSender(from string) (*mail.Address, error) {
	if strings.TrimSpace(from) == "" {
		return &mail.Address{Name: "drillctl", Address: "drillctl@" + machineFQDN()}, nil
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, err
	}
	a.Name = headerText(a.Name)
	return a, nil
}

// headerText is text fit for a header value: control characters (CR and LF
// above all, which would start a new header) become spaces, runs of spaces
// one space.
func headerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// messageID is a unique Message-ID under the sender's domain.
func messageID(sender string) string {
	domain := sender[strings.LastIndexByte(sender, '@')+1:]
	if domain == "" {
		domain = machineFQDN()
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "drillctl." + hex.EncodeToString(b) + "@" + domain
}

var fqdnOnce struct {
	sync.Once
	name string
}

// machineFQDN is this machine's fully qualified domain name, for EHLO and
// the default sender: the host name when it has a dot, else the canonical
// name the resolver gives it, else what a reverse lookup of its addresses
// gives; the bare host name when none has a dot. It is looked up once.
func machineFQDN() string {
	fqdnOnce.Do(func() {
		fqdnOnce.name = lookupFQDN()
	})
	return fqdnOnce.name
}

func lookupFQDN() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "localhost"
	}
	if strings.Contains(host, ".") {
		return host
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := net.DefaultResolver
	if cname, err := r.LookupCNAME(ctx, host); err == nil {
		if name := strings.TrimSuffix(cname, "."); strings.Contains(name, ".") {
			return name
		}
	}
	addrs, err := r.LookupHost(ctx, host)
	if err != nil {
		return host
	}
	for _, ip := range addrs {
		names, err := r.LookupAddr(ctx, ip)
		if err != nil {
			continue
		}
		for _, n := range names {
			if n = strings.TrimSuffix(n, "."); strings.Contains(n, ".") && n != "localhost.localdomain" {
				return n
			}
		}
	}
	return host
}
