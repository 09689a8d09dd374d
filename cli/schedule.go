package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/schedule"
)

func init() { commandGroups = append(commandGroups, scheduleCommand) }

// scheduleConn is what the schedule commands need of a Temporal connection.
type scheduleConn interface {
	schedule.Client
	Close()
}

// scheduleDial connects the schedule commands to Temporal; tests replace it.
var scheduleDial = func(c *ucli.Context) (scheduleConn, error) {
	cl, err := dial(c.Context, c)
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// specParts are the flags that say when a schedule runs, named as the
// schedule.SpecChange parts.
var specParts = []string{schedule.PartCalendar, schedule.PartCron, schedule.PartAt, schedule.PartDay,
	schedule.PartWeekday, schedule.PartTZ, schedule.PartJitter, schedule.PartSkip}

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

func noteFlag() ucli.Flag { return &ucli.StringFlag{Name: "note", Usage: "why, for the record"} }

func evenIfPausedFlag() ucli.Flag {
	return &ucli.BoolFlag{Name: "even-if-paused", Usage: "start drills although the schedule is paused (refused otherwise)"}
}

func scheduleCommand(stdio IO) *ucli.Command {
	conn := connectionFlags()
	nameCmd := func(name, usage, desc string, flags []ucli.Flag, action func(c *ucli.Context, name string) error) *ucli.Command {
		return &ucli.Command{Name: name, Usage: usage, ArgsUsage: "NAME", Description: desc,
			Flags: append(append(flags, outputFlag()), conn...),
			Action: func(c *ucli.Context) error {
				if _, err := outputFormat(c); err != nil {
					return err
				}
				n, err := oneArg(c, "NAME")
				if err != nil {
					return err
				}
				return action(c, n)
			}}
	}
	show := func(c *ucli.Context, name string) error { return showSchedule(c, stdio, name, nil) }
	return &ucli.Command{
		Name:  "schedule",
		Usage: "plan drills ahead on Temporal Schedules",
		Description: `Drills of a schedule never overlap: while one runs, the next is skipped
and counted as skipped. The playbook is stored in the schedule with its digest
and the params it runs with. Times are the schedule's own zone's (--tz).
Every subcommand takes --output json. Exit codes: 0 done, 1 usage, connection
or no such schedule, 4 a triggered drill was refused.

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
					noteFlag(),
					outputFlag(),
				}, specFlags()...), conn...),
				Action: func(c *ucli.Context) error { return scheduleCreate(c, stdio) },
			},
			{
				Name:  "list",
				Usage: "every schedule: playbook, params, spec in words, skip dates, state, last drill, next runs",
				Description: `Next runs are shown in each schedule's own time zone.

Examples:
   drillctl schedule list
   drillctl schedule list --output json | jq '.[].nextRuns'`,
				Flags:  append([]ucli.Flag{outputFlag()}, conn...),
				Action: func(c *ucli.Context) error { return scheduleList(c, stdio) },
			},
			nameCmd("describe", "show one schedule: playbook, params, when, skip dates, state, drills, next runs",
				"Next runs are shown in the schedule's own time zone, which is named.\n\n"+
					"Examples:\n   drillctl schedule describe chat-q\n   drillctl schedule describe chat-q --output json | jq .params",
				nil, show),
			nameCmd("pause", "pause a schedule: no drill starts until unpaused, not even by trigger or backfill",
				"trigger and backfill refuse a paused schedule unless given --even-if-paused.\n\n"+
					"Example:\n   drillctl schedule pause chat-q --note \"change freeze until 5 Jan\"",
				[]ucli.Flag{noteFlag()},
				func(c *ucli.Context, name string) error {
					return showSchedule(c, stdio, name, func(cl scheduleConn) error {
						return schedule.Pause(c.Context, cl, name, c.String("note"))
					})
				}),
			nameCmd("unpause", "resume a paused schedule",
				"Example:\n   drillctl schedule unpause chat-q --note \"freeze over\"",
				[]ucli.Flag{noteFlag()},
				func(c *ucli.Context, name string) error {
					return showSchedule(c, stdio, name, func(cl scheduleConn) error {
						return schedule.Unpause(c.Context, cl, name, c.String("note"))
					})
				}),
			nameCmd("trigger", "start the schedule's drill now, and say whether it started or was skipped",
				`While a drill of the schedule runs, none is started: the trigger is skipped
and says which drill still runs. A paused schedule starts nothing unless
--even-if-paused. A started drill may still be refused (another drill holds
its playbook's lock): then the exit code is 4.

Output: "started drill ID", or "skipped, no drill started: drill ID of this
schedule is still running"; with --output json {"schedule", "outcome":
started|skipped|refused|pending, "drillId", "runningDrill", "reason", "note"}.

Examples:
   drillctl schedule trigger chat-q
   drillctl schedule trigger chat-q --even-if-paused --output json`,
				[]ucli.Flag{evenIfPausedFlag()},
				func(c *ucli.Context, name string) error { return scheduleTrigger(c, stdio, name) }),
			nameCmd("update", "change a schedule's playbook, params or spec; what is not given is kept",
				`Only the parts given change: --calendar monthly keeps the time, day, zone,
jitter and skip dates. --skip replaces the skip dates (give them all);
--no-skip removes them. --set changes those params and keeps the others
(a new --playbook keeps the --set values it still declares).

Examples:
   drillctl schedule update chat-q --playbook quarterly-v2.yaml
   drillctl schedule update chat-q --calendar monthly --day 15
   drillctl schedule update chat-q --at 10:00 --tz Asia/Hong_Kong --skip 2026-12-20..2027-01-03
   drillctl schedule update chat-q --set standby=http://10.0.0.2:9102 --no-skip`,
				append([]ucli.Flag{
					&ucli.StringFlag{Name: "playbook", Usage: "new playbook `FILE`"},
					&ucli.StringSliceFlag{Name: "set", Usage: "set a param: `KEY=VALUE` (repeatable; the other params are kept)"},
					&ucli.BoolFlag{Name: "no-skip", Usage: "remove every skip date"},
				}, specFlags()...),
				func(c *ucli.Context, name string) error { return scheduleUpdate(c, stdio, name) }),
			nameCmd("delete", "delete a schedule (drills it started are kept)",
				"Examples:\n   drillctl schedule delete chat-q\n   drillctl schedule delete chat-q --output json",
				nil,
				func(c *ucli.Context, name string) error { return scheduleDelete(c, stdio, name) }),
			nameCmd("backfill", "run the drills a schedule would have started in a past window",
				"Drills run one at a time (overlap: skip). A paused schedule refuses unless --even-if-paused.\n\n"+
					"Example:\n   drillctl schedule backfill chat-q --from 2026-10-01T00:00:00Z --to 2026-10-02T00:00:00Z",
				[]ucli.Flag{
					&ucli.TimestampFlag{Name: "from", Layout: time.RFC3339, Required: true, Usage: "window start (RFC 3339)"},
					&ucli.TimestampFlag{Name: "to", Layout: time.RFC3339, Required: true, Usage: "window end (RFC 3339)"},
					evenIfPausedFlag(),
				},
				func(c *ucli.Context, name string) error {
					from, to := c.Timestamp("from"), c.Timestamp("to")
					if !to.After(*from) {
						return exitf(ExitUsage, "backfill: --to must be after --from")
					}
					return showSchedule(c, stdio, name, func(cl scheduleConn) error {
						return schedule.Backfill(c.Context, cl, name, *from, *to, c.Bool("even-if-paused"))
					})
				}),
		},
	}
}

// scheduleErr says why a schedule command failed, in the user's words, with
// what to do next.
func scheduleErr(err error, name string) error {
	var exit *ExitError
	switch {
	case errors.As(err, &exit):
		return err
	case errors.Is(err, schedule.ErrNotFound):
		return exitf(ExitUsage, "%v (drillctl schedule list shows the schedules there are)", err)
	case errors.Is(err, schedule.ErrPaused):
		return exitf(ExitUsage, "%v; unpause it (drillctl schedule unpause %s) or give --even-if-paused", err, name)
	case errors.Is(err, schedule.ErrExists):
		return exitf(ExitUsage, "schedule %s already exists: change it (drillctl schedule update %s) or delete it first", name, name)
	}
	return exitf(ExitUsage, "%v", err)
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
	cl, err := scheduleDial(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	err = schedule.Create(c.Context, cl, schedule.Plan{Name: name, Playbook: &in.Playbook, Params: in.Params,
		Spec: spec, Paused: c.Bool("paused"), Note: c.String("note")})
	if err != nil {
		return scheduleErr(err, name)
	}
	return showSchedule(c, stdio, name, nil)
}

func scheduleList(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	cl, err := scheduleDial(c)
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
}

func scheduleTrigger(c *ucli.Context, stdio IO, name string) error {
	cl, err := scheduleDial(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := schedule.Trigger(c.Context, cl, name, schedule.TriggerOptions{EvenIfPaused: c.Bool("even-if-paused")})
	if err != nil {
		return scheduleErr(err, name)
	}
	if c.String("output") == "json" {
		if err := writeJSON(stdio.Out, res); err != nil {
			return err
		}
	} else {
		writeTriggered(stdio.Out, res)
	}
	if res.Outcome == schedule.Refused {
		return exitf(ExitDrillFail, "drill %s was %s", res.DrillID, res.Reason)
	}
	return nil
}

func writeTriggered(w io.Writer, r *schedule.Triggered) {
	switch r.Outcome {
	case schedule.Started, schedule.Refused:
		fmt.Fprintf(w, "schedule %s: started drill %s\n  follow it: drillctl drill watch %s\n", r.Schedule, r.DrillID, r.DrillID)
		if r.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", r.Note)
		}
	case schedule.Skipped:
		running := "a drill"
		if r.RunningDrill != "" {
			running = "drill " + r.RunningDrill
		}
		fmt.Fprintf(w, "schedule %s: skipped, no drill started: %s of this schedule is still running (overlap policy: skip)\n",
			r.Schedule, running)
	default:
		fmt.Fprintf(w, "schedule %s: triggered, but the schedule has not started or skipped a drill yet; see drillctl schedule describe %s\n",
			r.Schedule, r.Schedule)
	}
}

func scheduleUpdate(c *ucli.Context, stdio IO, name string) error {
	var ch schedule.Change
	var parts []string
	for _, p := range specParts {
		if c.IsSet(p) {
			parts = append(parts, p)
		}
	}
	spec := specFromFlags(c)
	if c.Bool("no-skip") {
		if c.IsSet("skip") {
			return exitf(ExitUsage, "update: give --skip or --no-skip, not both")
		}
		parts, spec.Skip = append(parts, schedule.PartSkip), nil
	}
	if len(parts) > 0 {
		ch.Spec = &schedule.SpecChange{Spec: spec, Parts: parts}
		if err := ch.Spec.Check(); err != nil {
			return exitf(ExitUsage, "schedule %s: %v", name, err)
		}
	}
	if ch.Spec == nil && !c.IsSet("playbook") && !c.IsSet("set") {
		return exitf(ExitUsage, "update: nothing to change (give --playbook, --set or spec flags)")
	}
	if c.IsSet("playbook") {
		in, err := drillInput(c.String("playbook"), nil, false)
		if err != nil {
			return err
		}
		ch.Playbook = &in.Playbook
	}
	cl, err := scheduleDial(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if c.IsSet("playbook") || c.IsSet("set") {
		cur, err := schedule.Scheduled(c.Context, cl, name)
		if err != nil {
			return scheduleErr(err, name)
		}
		pb := &cur.Playbook
		if ch.Playbook != nil {
			pb = ch.Playbook
		}
		// Keep the --set values given before, where the playbook still has the param.
		old := schedule.Overrides(cur)
		var sets []string
		for _, k := range sortedParamNames(old) {
			if _, ok := pb.Params[k]; ok {
				sets = append(sets, k+"="+old[k])
			} else {
				fmt.Fprintf(stdio.Err, "note: --set %s=%s is dropped: playbook %s has no param %s\n", k, old[k], pb.Metadata.Name, k)
			}
		}
		in, err := drillInputFrom(pb, append(sets, c.StringSlice("set")...), false)
		if err != nil {
			return err
		}
		ch.Params = in.Params
	}
	if err := schedule.Update(c.Context, cl, name, ch); err != nil {
		return scheduleErr(err, name)
	}
	return showSchedule(c, stdio, name, nil)
}

func scheduleDelete(c *ucli.Context, stdio IO, name string) error {
	cl, err := scheduleDial(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := schedule.Delete(c.Context, cl, name); err != nil {
		if errors.Is(err, schedule.ErrNotFound) {
			return exitf(ExitUsage, "%v (already deleted? drillctl schedule list shows the schedules there are)", err)
		}
		return scheduleErr(err, name)
	}
	if c.String("output") == "json" {
		return writeJSON(stdio.Out, struct {
			Name    string `json:"name"`
			Deleted bool   `json:"deleted"`
		}{name, true})
	}
	fmt.Fprintf(stdio.Out, "schedule %s deleted; the drills it started are kept\n", name)
	return nil
}

// showSchedule runs do (if not nil), then prints the schedule as it now is.
func showSchedule(c *ucli.Context, stdio IO, name string, do func(scheduleConn) error) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	cl, err := scheduleDial(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if do != nil {
		if err := do(cl); err != nil {
			return scheduleErr(err, name)
		}
	}
	s, err := schedule.Describe(c.Context, cl, name)
	if err != nil {
		return scheduleErr(err, name)
	}
	if format == "json" {
		return writeJSON(stdio.Out, s)
	}
	writeSchedule(stdio.Out, s)
	return nil
}

// shownRuns is how many next runs the text output lists (JSON has them all).
const shownRuns = 5

func writeSchedule(w io.Writer, s *schedule.Summary) {
	state := "active"
	if s.Paused {
		state = "paused"
	}
	if s.Note != "" {
		state += " (" + s.Note + ")"
	}
	fmt.Fprintf(w, "%s\n  playbook  %s (%s)\n", s.Name, s.Playbook, shortDigest(s.Digest))
	names := make([]string, 0, len(s.Params))
	for k := range s.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, k := range names {
		label, from := "  params    ", "playbook"
		if i > 0 {
			label = "            "
		}
		if slices.Contains(s.SetParams, k) {
			from = "--set"
		}
		fmt.Fprintf(w, "%s%s=%s (%s)\n", label, k, s.Params[k], from)
	}
	fmt.Fprintf(w, "  when      %s\n", s.Spec)
	if len(s.Skip) > 0 {
		fmt.Fprintf(w, "  skip      %s\n", strings.Join(s.Skip, ", "))
	}
	fmt.Fprintf(w, "  state     %s; overlap: %s\n", state, s.Overlap)
	fmt.Fprintf(w, "  drills    %d started, %d skipped while one ran\n", s.Drills, s.Skipped)
	if s.RunningDrill != "" {
		fmt.Fprintf(w, "  running   %s\n", s.RunningDrill)
	}
	if s.LastDrill != "" {
		fmt.Fprintf(w, "  last      %s: %s\n", s.LastDrill, strings.TrimSpace(s.LastStatus+" "+s.LastVerdict))
	}
	var next []string
	for i, t := range s.NextRuns {
		if i == shownRuns {
			next = append(next, fmt.Sprintf("… (%d in all: --output json)", len(s.NextRuns)))
			break
		}
		next = append(next, t.Format("Mon 2006-01-02 15:04 MST"))
	}
	line := "none"
	if len(next) > 0 {
		line = strings.Join(next, ", ") + " (" + s.TimeZone + ")"
	}
	if s.Paused {
		line += "; paused: none starts until unpaused"
	}
	fmt.Fprintf(w, "  next      %s\n", line)
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}
