package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/schedule"
)

func init() { commandGroups = append(commandGroups, scheduleCommand) }

// specFlags are the flags that say when a schedule runs.
func specFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "calendar", Usage: "quarterly (Jan, Apr, Jul, Oct), monthly or weekly"},
		&ucli.StringFlag{Name: "cron", Usage: "a cron `EXPR` instead of --calendar, like \"0 9 1 */3 *\""},
		&ucli.StringFlag{Name: "at", Usage: "local time `HH:MM` (default 09:00)"},
		&ucli.IntFlag{Name: "day", Usage: "day of the month, 1 to 28 (quarterly, monthly; default 1)"},
		&ucli.StringSliceFlag{Name: "weekday", Usage: "weekly: mon, tue, wed, thu, fri, sat, sun (repeatable; default mon)"},
		&ucli.StringFlag{Name: "tz", Usage: "IANA time zone, like Asia/Hong_Kong (default UTC)"},
		&ucli.DurationFlag{Name: "jitter", Usage: "start up to this much later, at random"},
		&ucli.StringSliceFlag{Name: "skip", Usage: "no drill on this `DATE` or range (2026-12-25, 2026-12-20..2027-01-03; repeatable): change freezes"},
	}
}

func specFromFlags(c *ucli.Context) schedule.Spec {
	return schedule.Spec{
		Calendar: c.String("calendar"), Cron: c.String("cron"), At: c.String("at"), Day: c.Int("day"),
		Weekdays: c.StringSlice("weekday"), TZ: c.String("tz"), Jitter: c.Duration("jitter"), Skip: c.StringSlice("skip"),
	}
}

func specFlagSet(c *ucli.Context) bool {
	for _, f := range []string{"calendar", "cron", "at", "day", "weekday", "tz", "jitter", "skip"} {
		if c.IsSet(f) {
			return true
		}
	}
	return false
}

func scheduleCommand(stdio IO) *ucli.Command {
	conn := connectionFlags()
	nameCmd := func(name, usage, desc string, flags []ucli.Flag, action func(c *ucli.Context, name string) error) *ucli.Command {
		return &ucli.Command{Name: name, Usage: usage, ArgsUsage: "NAME", Description: desc, Flags: append(flags, conn...),
			Action: func(c *ucli.Context) error {
				n, err := oneArg(c, "NAME")
				if err != nil {
					return err
				}
				return action(c, n)
			}}
	}
	return &ucli.Command{
		Name:  "schedule",
		Usage: "plan drills ahead on Temporal Schedules",
		Description: `Drills of a schedule never overlap: while one runs, the next is skipped
and counted as skipped. The playbook is stored in the schedule with its digest.

Examples:
   drillctl schedule create chat-q --playbook playbooks/examples/chat-platform-quarterly.yaml \
       --calendar quarterly --day 1 --at 09:00 --tz Asia/Hong_Kong --skip 2026-12-20..2027-01-03
   drillctl schedule list
   drillctl schedule trigger chat-q`,
		Subcommands: []*ucli.Command{
			{
				Name:      "create",
				Usage:     "create a schedule",
				ArgsUsage: "NAME",
				Description: `The playbook is validated first; a bad playbook, cron, zone or date creates nothing.

Examples:
   drillctl schedule create chat-q --playbook quarterly.yaml --calendar quarterly --at 09:00 --tz Asia/Hong_Kong
   drillctl schedule create pg-monthly --playbook postgres-failover.yaml --cron "0 2 1 * *" --tz Europe/London \
       --set primary=postgres://db1/postgres --set standby=postgres://db2/postgres --paused --note "from January"`,
				Flags: append(append([]ucli.Flag{
					&ucli.StringFlag{Name: "playbook", Required: true, Usage: "playbook `FILE`"},
					&ucli.StringSliceFlag{Name: "set", Usage: "override a playbook param: `KEY=VALUE` (repeatable)"},
					&ucli.BoolFlag{Name: "paused", Usage: "create it paused"},
					&ucli.StringFlag{Name: "note", Usage: "why, for the record"},
					outputFlag(),
				}, specFlags()...), conn...),
				Action: func(c *ucli.Context) error { return scheduleCreate(c, stdio) },
			},
			{
				Name:  "list",
				Usage: "every schedule: playbook, spec in words, state, last drill, next runs",
				Description: `Examples:
   drillctl schedule list
   drillctl schedule list --output json | jq '.[].nextRuns'`,
				Flags: append([]ucli.Flag{outputFlag()}, conn...),
				Action: func(c *ucli.Context) error {
					format, err := outputFormat(c)
					if err != nil {
						return err
					}
					cl, err := dial(c.Context, c)
					if err != nil {
						return err
					}
					defer cl.Close()
					all, err := schedule.List(c.Context, cl)
					if err != nil {
						return exitf(ExitUsage, "%v", err)
					}
					if format == "json" {
						return writeJSON(stdio.Out, all)
					}
					if len(all) == 0 {
						fmt.Fprintln(stdio.Out, "no schedules yet (create one: drillctl schedule create --help)")
					}
					for _, s := range all {
						writeSchedule(stdio.Out, &s)
					}
					return nil
				},
			},
			nameCmd("describe", "show one schedule", "Example:\n   drillctl schedule describe chat-q --output json",
				[]ucli.Flag{outputFlag()}, func(c *ucli.Context, name string) error {
					return withSchedule(c, stdio, name, nil)
				}),
			nameCmd("pause", "pause a schedule: no drill starts until unpaused",
				"Example:\n   drillctl schedule pause chat-q --note \"change freeze until 5 Jan\"",
				[]ucli.Flag{&ucli.StringFlag{Name: "note", Usage: "why, for the record"}, outputFlag()},
				func(c *ucli.Context, name string) error {
					return withSchedule(c, stdio, name, func(h client.ScheduleHandle) error {
						return h.Pause(c.Context, client.SchedulePauseOptions{Note: c.String("note")})
					})
				}),
			nameCmd("unpause", "resume a paused schedule",
				"Example:\n   drillctl schedule unpause chat-q --note \"freeze over\"",
				[]ucli.Flag{&ucli.StringFlag{Name: "note", Usage: "why, for the record"}, outputFlag()},
				func(c *ucli.Context, name string) error {
					return withSchedule(c, stdio, name, func(h client.ScheduleHandle) error {
						return h.Unpause(c.Context, client.ScheduleUnpauseOptions{Note: c.String("note")})
					})
				}),
			nameCmd("trigger", "start the schedule's drill now (skipped if one is running)",
				"Example:\n   drillctl schedule trigger chat-q",
				[]ucli.Flag{outputFlag()},
				func(c *ucli.Context, name string) error {
					return withSchedule(c, stdio, name, func(h client.ScheduleHandle) error {
						return h.Trigger(c.Context, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP})
					})
				}),
			nameCmd("update", "change a schedule's playbook, params or spec",
				"The spec flags replace the whole spec when any is given.\n\nExamples:\n   drillctl schedule update chat-q --playbook quarterly-v2.yaml\n   drillctl schedule update chat-q --calendar quarterly --day 15 --at 10:00 --tz Asia/Hong_Kong",
				append([]ucli.Flag{
					&ucli.StringFlag{Name: "playbook", Usage: "new playbook `FILE`"},
					&ucli.StringSliceFlag{Name: "set", Usage: "params: `KEY=VALUE` (repeatable; replaces the params)"},
					outputFlag(),
				}, specFlags()...),
				func(c *ucli.Context, name string) error { return scheduleUpdate(c, stdio, name) }),
			nameCmd("delete", "delete a schedule (drills it started are kept)",
				"Example:\n   drillctl schedule delete chat-q",
				nil,
				func(c *ucli.Context, name string) error {
					cl, err := dial(c.Context, c)
					if err != nil {
						return err
					}
					defer cl.Close()
					if err := cl.ScheduleClient().GetHandle(c.Context, name).Delete(c.Context); err != nil {
						return exitf(ExitUsage, "delete schedule %s: %v", name, err)
					}
					fmt.Fprintf(stdio.Out, "schedule %s deleted\n", name)
					return nil
				}),
			nameCmd("backfill", "run the drills a schedule would have started in a past window",
				"Example:\n   drillctl schedule backfill chat-q --from 2026-10-01T00:00:00Z --to 2026-10-02T00:00:00Z",
				[]ucli.Flag{
					&ucli.TimestampFlag{Name: "from", Layout: time.RFC3339, Required: true, Usage: "window start (RFC 3339)"},
					&ucli.TimestampFlag{Name: "to", Layout: time.RFC3339, Required: true, Usage: "window end (RFC 3339)"},
					outputFlag(),
				},
				func(c *ucli.Context, name string) error {
					from, to := c.Timestamp("from"), c.Timestamp("to")
					if !to.After(*from) {
						return exitf(ExitUsage, "backfill: --to must be after --from")
					}
					return withSchedule(c, stdio, name, func(h client.ScheduleHandle) error {
						return h.Backfill(c.Context, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{
							{Start: *from, End: *to, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}}})
					})
				}),
		},
	}
}

func scheduleCreate(c *ucli.Context, stdio IO) error {
	if _, err := outputFormat(c); err != nil {
		return err
	}
	name, err := oneArg(c, "NAME")
	if err != nil {
		return err
	}
	in, err := drillInput(c.String("playbook"), c.StringSlice("set"), false)
	if err != nil {
		return err
	}
	spec := specFromFlags(c)
	if _, err := spec.Build(); err != nil {
		return exitf(ExitUsage, "schedule %s: %v", name, err)
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	err = schedule.Create(c.Context, cl, schedule.Plan{Name: name, Playbook: &in.Playbook, Params: in.Params,
		Spec: spec, Paused: c.Bool("paused"), Note: c.String("note")})
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	return withSchedule(c, stdio, name, nil)
}

func scheduleUpdate(c *ucli.Context, stdio IO, name string) error {
	var pb *playbooks.Playbook
	var params map[string]string
	if c.IsSet("playbook") || c.IsSet("set") {
		file := c.String("playbook")
		if file == "" {
			return exitf(ExitUsage, "update: --set needs --playbook (params are checked against it)")
		}
		in, err := drillInput(file, c.StringSlice("set"), false)
		if err != nil {
			return err
		}
		pb, params = &in.Playbook, in.Params
	}
	var spec *schedule.Spec
	if specFlagSet(c) {
		s := specFromFlags(c)
		if _, err := s.Build(); err != nil {
			return exitf(ExitUsage, "schedule %s: %v", name, err)
		}
		spec = &s
	}
	if pb == nil && spec == nil {
		return exitf(ExitUsage, "update: nothing to change (give --playbook or spec flags)")
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := schedule.Update(c.Context, cl, name, spec, pb, params); err != nil {
		return exitf(ExitUsage, "update schedule %s: %v", name, err)
	}
	return withSchedule(c, stdio, name, nil)
}

// withSchedule runs do on the schedule's handle (if not nil), then prints the
// schedule as it now is.
func withSchedule(c *ucli.Context, stdio IO, name string, do func(client.ScheduleHandle) error) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if do != nil {
		if err := do(cl.ScheduleClient().GetHandle(c.Context, name)); err != nil {
			return exitf(ExitUsage, "schedule %s: %v", name, err)
		}
	}
	s, err := schedule.Describe(c.Context, cl, name)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	if format == "json" {
		return writeJSON(stdio.Out, s)
	}
	writeSchedule(stdio.Out, s)
	return nil
}

func writeSchedule(w io.Writer, s *schedule.Summary) {
	state := "active"
	if s.Paused {
		state = "paused"
	}
	if s.Note != "" {
		state += " (" + s.Note + ")"
	}
	fmt.Fprintf(w, "%s\n  playbook  %s (%s)\n  when      %s\n  state     %s; overlap: %s\n", s.Name, s.Playbook,
		shortDigest(s.Digest), s.Spec, state, s.Overlap)
	fmt.Fprintf(w, "  drills    %d started, %d skipped while one ran\n", s.Drills, s.Skipped)
	if s.LastDrill != "" {
		fmt.Fprintf(w, "  last      %s: %s %s\n", s.LastDrill, s.LastStatus, s.LastVerdict)
	}
	var next []string
	for _, t := range s.NextRuns {
		next = append(next, t.Format(time.RFC3339))
	}
	if len(next) == 0 {
		next = []string{"none"}
	}
	fmt.Fprintf(w, "  next      %s\n", strings.Join(next, ", "))
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}
