package i18n

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/number"
)

// Unicode bidirectional isolates (UAX #9): text between an isolate and PDI
// keeps its own direction inside a right-to-left sentence, so "10", an id
// like drill-chat-6f1c or "09:00:00 HKT" never run into the Arabic around
// them. HTML can use <bdi> instead; isolates also work in Markdown, plain
// text and the PDF.
const (
	lri = "\u2066" // left-to-right isolate
	fsi = "\u2068" // first-strong isolate
	pdi = "\u2069" // pop directional isolate
)

// Iso isolates text of either direction (names, free text) when the
// language is right to left, and returns it unchanged otherwise.
func (l Locale) Iso(s string) string {
	if !l.RTL() || s == "" {
		return s
	}
	return fsi + s + pdi
}

// LTR isolates left-to-right text (numbers, ids, instants, commands) when
// the language is right to left, and returns it unchanged otherwise.
func (l Locale) LTR(s string) string {
	if !l.RTL() || s == "" {
		return s
	}
	return lri + s + pdi
}

// StripIsolates removes the isolates Iso and LTR add (for tests and for
// text that must be copied, like a shell command).
func StripIsolates(s string) string {
	return strings.NewReplacer(lri, "", fsi, "", pdi, "").Replace(s)
}

// Int formats a count with the language's grouping ("12,345"; vi "12.345").
func (l Locale) Int(n int) string { return l.num.Sprint(number.Decimal(n)) }

// Decimal formats a figure with at most frac fraction digits and the
// language's separators ("32.4"; vi "32,4").
func (l Locale) Decimal(f float64, frac int) string {
	return l.num.Sprint(number.Decimal(f, number.MaxFractionDigits(frac)))
}

// Duration formats a duration for people. English keeps Go's compact form
// rounded for reading (13m32.4s, 4h0m0s) as drillctl always printed it;
// other languages spell the units (13 phút 32,4 giây; 13分32.4秒).
func (l Locale) Duration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	switch {
	case d >= time.Minute:
		d = d.Round(100 * time.Millisecond)
	case d >= time.Second:
		d = d.Round(10 * time.Millisecond)
	default:
		d = d.Round(time.Millisecond)
	}
	var s string
	if l.tag == English {
		s = d.String()
	} else {
		s = l.spelled(d)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// spelled writes d with the language's units, leaving out zero parts.
func (l Locale) spelled(d time.Duration) string {
	if d < time.Second {
		return l.T("unit.ms", l.Int(int(d/time.Millisecond)))
	}
	h, rest := d/time.Hour, d%time.Hour
	m, rest := rest/time.Minute, rest%time.Minute
	var parts []string
	if h > 0 {
		parts = append(parts, l.T("unit.h", l.Int(int(h))))
	}
	if m > 0 {
		parts = append(parts, l.T("unit.min", l.Int(int(m))))
	}
	if rest > 0 || len(parts) == 0 {
		parts = append(parts, l.T("unit.s", l.Decimal(rest.Seconds(), 2)))
	}
	return strings.Join(parts, l.T("unit.join"))
}

// DateTime formats an instant in loc with the language's date order, to the
// millisecond, with its zone's abbreviation ("2026-11-23 17:05:00.000 HKT").
func (l Locale) DateTime(t time.Time, loc *time.Location) string {
	return t.In(zone(loc)).Format(l.T("layout.datetime"))
}

// Date formats the day of an instant in loc ("2026-11-23"; vi "23/11/2026").
func (l Locale) Date(t time.Time, loc *time.Location) string {
	return t.In(zone(loc)).Format(l.T("layout.date"))
}

// Clock formats the time of day of an instant in loc, to the millisecond.
func (l Locale) Clock(t time.Time, loc *time.Location) string {
	return t.In(zone(loc)).Format("15:04:05.000")
}

// Zone names a zone with its offset at t: "Asia/Hong_Kong (UTC+08:00)".
func (l Locale) Zone(loc *time.Location, t time.Time) string {
	loc = zone(loc)
	_, off := t.In(loc).Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return l.T("time.zone", loc.String(), fmt.Sprintf("%s%02d:%02d", sign, off/3600, off%3600/60))
}

func zone(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
