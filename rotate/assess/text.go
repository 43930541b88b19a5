package assess

import (
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
)

// GlobalRegion is the ByRegion name of the global services' events (RAM, IMS, STS…), which every
// region returns.
const GlobalRegion = "global"

// RestrictiveProtection reports whether an event is a call that Alibaba's restrictive protection
// refused: Alibaba found the key publicly exposed, and calls signed with it to RAM, IMS and some
// ECS/SMS actions fail with "Forbidden : There is a risk of leakage of this AccessKey."
// (alibaba-api.md §14). The message is what identifies it; the code is Forbidden.
func RestrictiveProtection(e ram.Event) bool {
	return strings.Contains(strings.ToLower(e.ErrorMessage), "risk of leakage")
}

// writeCoverage renders where the assessment looked, how fresh it is, and restrictive protection.
func writeCoverage(ew *errWriter, a Assessment) {
	if c := a.Coverage; c != nil {
		switch c.Source {
		case SourceActionTrail:
			ew.printf("Looked in %s of the %s ActionTrail lists", plural(float64(c.Asked-c.Failed), "region"), plural(float64(len(c.Regions)), "region"))
		case SourceConfigured:
			ew.printf("Looked in %s of the %s configured", plural(float64(c.Asked-c.Failed), "region"), plural(float64(c.Asked+c.Skipped-notConfigured(c)), "region"))
		default:
			ew.printf("Looked in the client's own region only")
		}
		if c.GlobalEvents > 0 {
			ew.printf("; the %s of global services (RAM, STS…) every region returns are counted once", plural(float64(c.GlobalEvents), "event"))
		}
		ew.printf(".\n")
		if c.ListError != "" {
			ew.printf("  ActionTrail's region list could not be read: %s\n", escape(c.ListError))
		}
		var outside []string
		for _, r := range c.Regions {
			switch {
			case r.Status == RegionFailed:
				ew.printf("  NOT LOOKED AT: %s failed: %s\n", escape(r.Region), escape(r.Reason))
			case r.Status == RegionSkipped && r.Reason == reasonNotConfigured:
				outside = append(outside, r.Region)
			case r.Status == RegionSkipped:
				ew.printf("  NOT LOOKED AT: %s skipped: %s\n", escape(r.Region), escape(r.Reason))
			}
		}
		if len(outside) > 0 {
			ew.printf("  Not asked (%s): %s\n", reasonNotConfigured, escape(strings.Join(outside, ", ")))
		}
	}
	if a.Lag > 0 {
		ew.printf("ActionTrail shows an event about %s after it happens: events of the last %s", shortDuration(time.Duration(a.Lag)), shortDuration(time.Duration(a.Lag)))
		if !a.FreshUntil.IsZero() {
			ew.printf(" (after %s)", a.FreshUntil.Format(time.RFC3339))
		}
		ew.printf(" may be missing.\n")
	}
	if a.Blocked > 0 {
		ew.printf("Restrictive protection: Alibaba refused %s signed by this key as leaked (\"There is a risk of leakage of this AccessKey.\"): the key is flagged, and it still must be deleted.\n",
			plural(float64(a.Blocked), "call"))
	}
}

func notConfigured(c *Coverage) int {
	n := 0
	for _, r := range c.Regions {
		if r.Status == RegionSkipped && r.Reason == reasonNotConfigured {
			n++
		}
	}
	return n
}

// shortDuration prints 10m rather than 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// escape keeps control characters of cloud answers (error texts) out of the terminal.
func escape(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
