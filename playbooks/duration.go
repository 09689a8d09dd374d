package playbooks

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses Go duration text ("90s", "4h", "1h30m") with one
// addition: a leading whole number of days ("1d", "2d12h"). Negative
// durations are refused: no playbook field means a negative span.
func ParseDuration(s string) (Duration, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var days time.Duration
	if i := strings.IndexByte(text, 'd'); i > 0 {
		n, err := strconv.Atoi(text[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration (try 4h, 15m, 1d)", s)
		}
		if n > maxDays {
			return 0, tooLong(s)
		}
		days = time.Duration(n) * 24 * time.Hour
		text = text[i+1:]
		if text == "" {
			return Duration(days), nil
		}
	}
	d, err := time.ParseDuration(text)
	switch {
	case err != nil && durationTextRE.MatchString(text), err == nil && days+d < days:
		return 0, tooLong(s) // well written, but it would wrap around
	case err != nil || d < 0:
		return 0, fmt.Errorf("%q is not a duration (try 4h, 15m, 1d)", s)
	}
	return Duration(days + d), nil
}

// durationTextRE matches the text time.ParseDuration reads, whatever its size.
var durationTextRE = regexp.MustCompile(`^\+?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// maxDays is the most whole days a Duration holds (about 292 years).
const maxDays = int(math.MaxInt64 / int64(24*time.Hour))

// tooLong is the error of a duration past what a Duration holds: it would
// wrap around to a negative span.
func tooLong(s string) error {
	return fmt.Errorf("%q is longer than a duration can hold (at most %dd)", s, maxDays)
}

// String renders the duration as Go duration text ("4h0m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as text so workflow histories stay readable.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads duration text, or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
