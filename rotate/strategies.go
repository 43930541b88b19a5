package rotate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
)

// Strategies are the owner-search strategies a person may name: the playbooks' and
// ram.StrategyCaller (opt-in: it signs with the leaked key).
func Strategies() []string { return append(playbooks.KnownStrategies(), ram.StrategyCaller) }

// ParseStrategies parses a comma-separated list of owner-search strategies (respond --locate);
// "" is none (each playbook's, else ram's defaults).
func ParseStrategies(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var out []string
	for p := range strings.SplitSeq(list, ",") {
		if p = strings.TrimSpace(p); !slices.Contains(Strategies(), p) {
			return nil, fmt.Errorf("unknown strategy %q; known: %s", p, strings.Join(Strategies(), ", "))
		}
		out = append(out, p)
	}
	return out, nil
}
