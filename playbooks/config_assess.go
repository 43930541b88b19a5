package playbooks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
	"strconv"

	"gopkg.in/yaml.v3"
)

// AssessConfig is the configuration's assess section: how the impact assessment reads
// ActionTrail.
type AssessConfig struct {
	// Regions are the ActionTrail regions the assessment asks, for organisations that restrict
	// the regions they use; empty means every region ActionTrail lists (DescribeRegions). The
	// regions ActionTrail lists beyond them are reported as not asked.
	Regions []string
}

var assessKeys = []string{"regions"}

// AssessRegions are the ActionTrail regions an assessment asks: those named (respond assess
// --region, a library's Deps), else the configuration's assess.regions; none means every region
// ActionTrail lists. A run's assessments and respond assess both decide it here.
func (c *Config) AssessRegions(named []string) []string {
	if len(named) == 0 && c != nil {
		return c.Assess.Regions
	}
	return named
}

// decodeAssess reads assess: {regions: [cn-hangzhou, …]}.
func (c *Config) decodeAssess(l *errList, f field) {
	for _, g := range mapping(l, f.v, f.place, assessKeys) {
		c.pos[g.place] = at(g.v)
		if g.v.Kind == yaml.SequenceNode && len(g.v.Content) == 0 {
			l.addAt(at(g.v), "%s: an empty list would ask no region; remove it to ask every region ActionTrail lists", g.place)
			continue
		}
		items := stringList(l, g.v, g.place, "region ids such as cn-hangzhou")
		for i, it := range items {
			c.pos[g.place+"["+strconv.Itoa(i)+"]"] = it.pos
			if !ValidRegion(it.val) {
				l.addAt(it.pos, "%s[%d]: %s is not a region id: expected one such as cn-hangzhou or ap-southeast-1", g.place, i, show(it.val))
			}
		}
		c.Assess.Regions = vals(items)
	}
}

// validateAssess checks the assess section: region ids, each once.
func (c *Config) validateAssess(l *errList, ps positions) {
	seen := map[string]int{}
	for i, r := range c.Assess.Regions {
		place := "assess.regions[" + strconv.Itoa(i) + "]"
		if !ValidRegion(r) {
			l.addAt(ps.at(place), "%s: %s is not a region id: expected one such as cn-hangzhou or ap-southeast-1", place, show(r))
			continue
		}
		if j, dup := seen[r]; dup {
			l.addAt(ps.at(place), "%s: region %s is listed twice (first as assess.regions[%d])", place, r, j)
			continue
		}
		seen[r] = i
	}
}

// ValidRegion reports whether s has the shape of a region id (cn-hangzhou, ap-southeast-1).
func ValidRegion(s string) bool { return len(s) <= 64 && regionRe.MatchString(s) }

// ParseRegions reads region ids a person typed (--region a,b --region c): each once, empty items
// skipped; the error names the first value that is not a region id.
func ParseRegions(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for s := range strings.SplitSeq(v, ",") {
			s = strings.TrimSpace(s)
			switch {
			case s == "":
			case !ValidRegion(s):
				return nil, fmt.Errorf("%q is not a region id (such as cn-hangzhou or ap-southeast-1)", accesskey.Printable(s))
			case !slices.Contains(out, s):
				out = append(out, s)
			}
		}
	}
	return out, nil
}
