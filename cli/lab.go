package cli

import (
	"fmt"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/lab"
)

func init() { commandGroups = append(commandGroups, labCommand) }

func labCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "lab",
		Usage: "run a two-site collaboration platform (primary and standby) to drill against",
		Description: `Two HTTP sites on loopback with their own stores, a replicator with a lag, a
traffic generator, a failover endpoint and faults. The replication contract is in
lab/CONTRACT.md. Runs until Ctrl-C.

Examples:
   drillctl lab
   drillctl lab --lag 5s --promote-delay 10s
   drillctl lab --primary-addr 127.0.0.1:0 --standby-addr 127.0.0.1:0 --output json`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "primary-addr", Value: "127.0.0.1:9101", Usage: "primary site's listen address"},
			&ucli.StringFlag{Name: "standby-addr", Value: "127.0.0.1:9102", Usage: "standby site's listen address"},
			&ucli.DurationFlag{Name: "lag", Value: time.Second, Usage: "replication lag"},
			&ucli.DurationFlag{Name: "promote-delay", Value: 3 * time.Second, Usage: "how long the standby takes to become active after a failover"},
			&ucli.DurationFlag{Name: "traffic-interval", Value: 100 * time.Millisecond, Usage: "a chat message is written this often (negative: none)"},
			outputFlag(),
		},
		Action: func(c *ucli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			l, err := lab.Start(c.Context, lab.Config{PrimaryAddr: c.String("primary-addr"), StandbyAddr: c.String("standby-addr"),
				Lag: c.Duration("lag"), PromoteDelay: c.Duration("promote-delay"), TrafficInterval: c.Duration("traffic-interval")})
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			defer l.Stop()
			if format == "json" {
				if err := writeJSON(stdio.Out, map[string]string{"primary": l.PrimaryURL(), "standby": l.StandbyURL()}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(stdio.Out, "primary  %s\nstandby  %s\nreplication lag %s, promote delay %s\n\n"+
					"Drill it:\n  drillctl drill run playbooks/examples/chat-platform-quarterly.yaml --set primary=%s --set standby=%s\nCtrl-C to stop.\n",
					l.PrimaryURL(), l.StandbyURL(), c.Duration("lag"), c.Duration("promote-delay"), l.PrimaryURL(), l.StandbyURL())
			}
			<-c.Context.Done()
			return nil
		},
	}
}
