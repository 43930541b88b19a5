package ram

import (
	"fmt"
	"math"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Remaining estimates how long the scan still takes, at its rate so far; false while the total
// is not known (the user listing goes on) or there is no rate yet.
func (p Progress) Remaining() (time.Duration, bool) {
	if !p.Listed || p.Rate <= 0 {
		return 0, false
	}
	left := float64(max(p.UsersTotal-p.UsersScanned, 0)) / p.Rate
	return time.Duration(math.Ceil(left)) * time.Second, true
}

// String is the progress for a person: "account 1234: 300/1,000 users, 85 users/s, about 9s
// left, 2 throttled" ("300/1,000+ users" while the listing goes on, the total growing).
func (p Progress) String() string {
	total := fmt.Sprint(p.UsersTotal)
	if !p.Listed {
		total += "+"
	}
	s := fmt.Sprintf("account %s: %d/%s users, %.0f users/s", accesskey.Printable(p.Account), p.UsersScanned, total, p.Rate)
	if d, ok := p.Remaining(); ok {
		s += fmt.Sprintf(", about %s left", d)
	}
	if p.Throttles > 0 {
		s += fmt.Sprintf(", %d throttled", p.Throttles)
	}
	return s
}
