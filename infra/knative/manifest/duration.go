package manifest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses an ISO-8601 duration as Knative's deliverySpec uses it
// (backoffDelay, timeout): "PT0.5S", "PT1S", "PT2M", "PT1H30M", "P1DT12H".
//
// Weeks and days are taken as 7×24 h and 24 h. Years and months are refused:
// their length depends on the calendar, and no delivery setting should need
// them, so accepting them would only hide a typo such as "P2M" for "PT2M".
// Every component may carry a fraction ("PT0.5S", "PT1.5M"), as Knative's
// parser allows; signs are refused because a negative delay means nothing.
func ParseDuration(s string) (time.Duration, error) {
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("invalid ISO-8601 duration %q: %s", s, why)
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok {
		return bad("must start with P")
	}
	if rest == "" {
		return bad("no components")
	}

	// Units in the order ISO-8601 requires them; each may appear once.
	// Y and the date-part M are listed so that they get a precise error.
	type unit struct {
		designator byte
		timePart   bool
		size       time.Duration // 0: refused
	}
	units := []unit{
		{'Y', false, 0}, {'M', false, 0}, {'W', false, 7 * 24 * time.Hour}, {'D', false, 24 * time.Hour},
		{'H', true, time.Hour}, {'M', true, time.Minute}, {'S', true, time.Second},
	}

	var total float64
	next := 0 // index into units: components must come in order
	inTime := false
	components := 0
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return bad("T appears twice")
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return bad("no time components after T")
			}
			continue
		}
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != ',' })
		if i <= 0 {
			return bad("expected a number")
		}
		if i == len(rest) {
			return bad("number without a unit")
		}
		num, d := rest[:i], rest[i]
		rest = rest[i+1:]

		// Find the unit at or after next that matches the designator in the
		// current part (date or time); earlier units would be out of order.
		found := -1
		for j := next; j < len(units); j++ {
			if units[j].designator == d && units[j].timePart == inTime {
				found = j
				break
			}
		}
		if found < 0 {
			return bad(fmt.Sprintf("unexpected %q (unknown, repeated or out of order)", d))
		}
		u := units[found]
		if u.size == 0 {
			return bad("years and months have no fixed length; use weeks, days or hours")
		}
		next = found + 1

		v, err := strconv.ParseFloat(strings.Replace(num, ",", ".", 1), 64)
		if err != nil {
			return bad(fmt.Sprintf("bad number %q", num))
		}
		total += v * float64(u.size)
		components++
	}
	if components == 0 {
		return bad("no components")
	}
	if total > math.MaxInt64 {
		return bad("too long")
	}
	return time.Duration(math.Round(total)), nil
}
