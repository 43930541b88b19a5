package detect

import "slices"

// NotePairedWithinReport is attached to an id that got its secret from a secret-only finding of
// the same report: the only id and the only secret without an id in the same commit.
const NotePairedWithinReport = "paired within the report: this is the only AccessKey id and the only secret " +
	"without an id in the same commit (or, without commits, in the same input), so they are taken as one key"

// pairWithinReport joins secrets that stood without an id to the ids they belong to, where the
// report leaves no doubt:
//
//   - a secret-only finding whose secret is also paired with exactly one id elsewhere is that
//     key: its locations join the id's;
//   - a secret-only finding S and an id finding I are paired when they share a commit (the
//     repository and commit of a location; all of an input without commits is one), S shares a
//     commit with no other id, I shares one with no other secret-only finding, and I has no
//     secret of its own and is a rotatable id not taken from an OSS pre-signed URL. Every id
//     counts as "another id", STS ids and ids that already have a secret included.
//
// Anything more ambiguous stays unpaired.
func (c *collector) pairWithinReport() {
	fs := c.findings
	idBySecret := map[string]int{}
	for i := range fs {
		if fs[i].Kind == KindSecretOnly || fs[i].Secret.IsZero() {
			continue
		}
		k := fs[i].Secret.Reveal()
		if _, ok := idBySecret[k]; ok {
			idBySecret[k] = -1
		} else {
			idBySecret[k] = i
		}
	}
	hasSecretOnly := false
	for i := range fs {
		if fs[i].Kind != KindSecretOnly {
			continue
		}
		if j, ok := idBySecret[fs[i].Secret.Reveal()]; ok && j >= 0 {
			c.merge(i, j, "")
			continue
		}
		hasSecretOnly = true
	}
	if !hasSecretOnly {
		return
	}
	type groupKey struct{ repo, commit string }
	ids := map[groupKey][]int{}
	secrets := map[groupKey][]int{}
	groupsOf := make([][]groupKey, len(fs))
	for i := range fs {
		if c.state[i].removed {
			continue
		}
		for _, l := range fs[i].Locations {
			g := groupKey{l.Repository, l.Commit}
			if slices.Contains(groupsOf[i], g) {
				continue
			}
			groupsOf[i] = append(groupsOf[i], g)
			if fs[i].Kind == KindSecretOnly {
				secrets[g] = append(secrets[g], i)
			} else {
				ids[g] = append(ids[g], i)
			}
		}
	}
	// partner returns the one finding of the other side that shares a commit with i, or -1.
	partner := func(i int, other map[groupKey][]int) int {
		p := -1
		for _, g := range groupsOf[i] {
			for _, j := range other[g] {
				if p >= 0 && p != j {
					return -1
				}
				p = j
			}
		}
		return p
	}
	for s := range fs {
		if fs[s].Kind != KindSecretOnly || c.state[s].removed {
			continue
		}
		i := partner(s, ids)
		if i < 0 || partner(i, secrets) != s {
			continue
		}
		if f := &fs[i]; f.Kind != KindAccessKey || !f.Secret.IsZero() || slices.Contains(f.Notes, NoteOSSPresigned) {
			continue
		}
		c.merge(s, i, NotePairedWithinReport)
	}
}

// merge moves the secret-only finding s into the id finding i.
func (c *collector) merge(s, i int, note string) {
	f, from := &c.findings[i], &c.findings[s]
	if f.Secret.IsZero() {
		f.Secret = from.Secret
	}
	for _, l := range from.Locations {
		if len(f.Locations) >= MaxLocationsPerFinding {
			c.state[i].dropped++
			continue
		}
		f.Locations = append(f.Locations, l)
	}
	c.state[i].dropped += c.state[s].dropped
	if note != "" {
		c.addNotes(i, note)
	}
	c.state[s].removed = true
}
