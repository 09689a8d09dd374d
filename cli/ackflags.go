package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/acklink"
	"github.com/drillctl/drillctl/statedir"
	"github.com/drillctl/drillctl/worker"
)

// ackFlags configure the one-click acknowledgement links pages carry.
func ackFlags(defaultAddr string) []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "ack-addr", Value: defaultAddr, Usage: "serve one-click ack links on this `HOST:PORT` (empty: pages carry no link)", Category: "Paging"},
		&ucli.StringFlag{Name: "ack-url", Usage: "the links' public base `URL`, when people reach the worker through another name (default: http://ACK-ADDR)", Category: "Paging"},
		&ucli.StringFlag{Name: "ack-key", Usage: "key `FILE` that signs the links (created when missing; default: under the user's state directory)", Category: "Paging"},
		&ucli.StringFlag{Name: "pagerduty-webhook-secret", Usage: "`FILE` holding the signing secrets (one a line) of PagerDuty v3 webhooks posted to ACK-ADDR/pagerduty/webhook: an incident acknowledged in PagerDuty acknowledges the page", Category: "Paging"},
	}
}

// pagerDutySecrets reads the webhook secrets named by --pagerduty-webhook-secret.
func pagerDutySecrets(c *ucli.Context) ([]string, error) {
	file := c.String("pagerduty-webhook-secret")
	if file == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, exitf(ExitUsage, "--pagerduty-webhook-secret: %v", err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, exitf(ExitUsage, "--pagerduty-webhook-secret %s: no secret in it", file)
	}
	return out, nil
}

// startAckServer serves ack links when --ack-addr is set and tells the
// activities to put them in pages. The returned stop function is never nil.
func startAckServer(c *ucli.Context, cl worker.Client, acts *worker.Settings) (func(), error) {
	addr := c.String("ack-addr")
	if addr == "" {
		return func() {}, nil
	}
	keyFile := c.String("ack-key")
	if keyFile == "" {
		dir, err := statedir.Dir() // beside dev's database and certificates
		if err != nil {
			return nil, exitf(ExitUsage, "ack links: %v (pass --ack-key)", err)
		}
		keyFile = filepath.Join(dir, "ack.key")
	}
	key, err := acklink.LoadOrCreateKey(keyFile)
	if err != nil {
		return nil, exitf(ExitUsage, "ack links: %v", err)
	}
	pd, err := pagerDutySecrets(c)
	if err != nil {
		return nil, err
	}
	return serveAckLinks(addr, c.String("ack-url"), key, cl, acts, pd...)
}

// serveAckLinks serves ack links signed with key on addr, and tells the
// activities to put them in pages.
//
// With PagerDuty webhook secrets, it also takes PagerDuty's signed webhooks
// on /pagerduty/webhook.
func serveAckLinks(addr, publicURL string, key []byte, cl worker.Client, acts *worker.Settings, pagerDutySecrets ...string) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, exitf(ExitUsage, "ack links: %s is in use (%v); pick another with --ack-addr, or --ack-addr '' for none", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", acklink.Handler(key, worker.LinkAcker{Client: cl}, nil))
	if len(pagerDutySecrets) > 0 {
		mux.Handle("/pagerduty/webhook", worker.PagerDutyWebhook(cl, pagerDutySecrets))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "drillctl: ack links: %v\n", err)
		}
	}()
	acts.AckKey = key
	acts.AckBaseURL = publicURL
	if acts.AckBaseURL == "" {
		acts.AckBaseURL = "http://" + ln.Addr().String()
	}
	return func() { srv.Close() }, nil
}
