package cli

import (
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/worker/searchattrs"
)

func init() { commandGroups = append(commandGroups, setupCommand) }

// setupResult is what `drillctl setup --output json` prints.
type setupResult struct {
	Address   string   `json:"address"`
	Namespace string   `json:"namespace"`
	Added     []string `json:"added"`
	Present   []string `json:"present"`
	Missing   []string `json:"missing,omitempty"`
}

func setupCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "setup",
		Usage: "make a Temporal namespace ready for drills: register drillctl's search attributes",
		Description: `Registers the search attributes drills are found by — DrillPlaybook,
DrillStatus, DrillVerdict, DrillSchedule and DrillInitiator, all Keyword — on
the namespace, through Temporal's operator service (AddSearchAttributes: the
caller needs admin rights on a cluster that checks them). Attributes already
there are left as they are; one registered with another type is an error.
Run it once per namespace before the first drill: the server refuses to start
a drill whose attributes it does not know. drillctl dev does it by itself.

On Temporal Cloud the operator service does not register search attributes;
use tcld (its namespace is NAME.ACCOUNT):

   tcld namespace search-attributes add --namespace NAME.ACCOUNT \
       --search-attribute DrillInitiator=Keyword --search-attribute DrillPlaybook=Keyword \
       --search-attribute DrillSchedule=Keyword --search-attribute DrillStatus=Keyword \
       --search-attribute DrillVerdict=Keyword

then check with drillctl setup --check.

Examples:
   drillctl setup --address temporal.internal:7233 --namespace dr --tls-ca ca.pem --tls-cert admin.pem --tls-key admin.key
   TEMPORAL_PROFILE=prod drillctl setup
   drillctl setup --check --output json       # exit 1 when an attribute is missing

Exit codes: 0 ready; 1 usage or connection error, or (--check) an attribute missing.`,
		Flags: append(connectionFlags(),
			&ucli.BoolFlag{Name: "check", Usage: "only say which attributes are missing; exit 1 when any is"},
			outputFlag()),
		Action: func(c *ucli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			conn := connection(c)
			cl, err := dialWith(c.Context, conn)
			if err != nil {
				return err
			}
			defer cl.Close()
			address, namespace := target(conn)
			res := setupResult{Address: address, Namespace: namespace, Added: []string{}}
			cloud := isCloud(address)
			if !c.Bool("check") && !cloud {
				if res.Added, err = worker.RegisterSearchAttributes(c.Context, cl, namespace); err != nil {
					return exitf(ExitUsage, "setup: %v", err)
				}
				if res.Added == nil {
					res.Added = []string{}
				}
			}
			st, err := worker.CheckSearchAttributes(c.Context, cl, namespace)
			if err != nil && cloud {
				return exitf(ExitUsage, "setup: %v\n  on Temporal Cloud, register them with:\n  %s", err, searchattrs.CloudCommand(namespace))
			}
			if err != nil {
				return exitf(ExitUsage, "setup: %v", err)
			}
			res.Present = minus(st.Present, res.Added)
			res.Missing = append(st.Missing, st.Conflicting...)
			if format == "json" {
				if err := writeJSON(stdio.Out, res); err != nil {
					return err
				}
			} else {
				printSetup(stdio, res)
			}
			if len(res.Missing) > 0 {
				hint := "run drillctl setup without --check"
				if cloud {
					hint = "on Temporal Cloud:\n  " + searchattrs.CloudCommand(namespace)
				}
				return exitf(ExitUsage, "setup: namespace %s lacks %s; %s", namespace, strings.Join(res.Missing, ", "), hint)
			}
			return nil
		},
	}
}

// printSetup says what setup did, in words.
func printSetup(stdio IO, res setupResult) {
	fmt.Fprintf(stdio.Out, "namespace %s on %s\n", res.Namespace, res.Address)
	if len(res.Added) > 0 {
		fmt.Fprintf(stdio.Out, "  registered      %s (Keyword)\n", strings.Join(res.Added, ", "))
	}
	if len(res.Present) > 0 {
		fmt.Fprintf(stdio.Out, "  already there   %s\n", strings.Join(res.Present, ", "))
	}
	if len(res.Missing) > 0 {
		fmt.Fprintf(stdio.Out, "  missing         %s\n", strings.Join(res.Missing, ", "))
	} else {
		fmt.Fprintln(stdio.Out, "ready for drills")
	}
}

// isCloud reports whether an address is Temporal Cloud's.
func isCloud(address string) bool {
	host := address
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	return strings.HasSuffix(host, ".tmprl.cloud")
}

// minus is a without the elements of b.
func minus(a, b []string) []string {
	out := []string{}
	for _, s := range a {
		found := false
		for _, t := range b {
			found = found || s == t
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}
