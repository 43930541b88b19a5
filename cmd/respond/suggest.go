package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/respond-dev/respond/ram/accesskey"
)

// argsHint adds to a positional-argument error what was probably meant: a key id given without
// --key-id, or a command name close to the one typed (respond locat).
func argsHint(cmd *cobra.Command, args []string, err error) error {
	if len(args) == 0 {
		return err
	}
	if a := strings.TrimSpace(args[0]); strings.HasPrefix(a, accesskey.Prefix) || strings.HasPrefix(a, accesskey.STSPrefix) {
		return fmt.Errorf("%w: to respond to a key id, use --key-id %s", err, accesskey.Printable(a))
	}
	cmd.SuggestionsMinimumDistance = 2
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		return fmt.Errorf("%w; did you mean %s?", err, strings.Join(s, " or "))
	}
	return err
}

// flagHint adds "did you mean --dry-run?" to an unknown flag's error: a flag of the command
// spelt the same but for dashes and case, or within two edits.
func flagHint(cmd *cobra.Command, err error) error {
	typed, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s)) }
	best, bestD := "", 3
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		d := editDistance(norm(typed), norm(f.Name))
		if d < bestD && !f.Hidden {
			best, bestD = f.Name, d
		}
	})
	if best == "" {
		return err
	}
	return fmt.Errorf("%w; did you mean --%s?", err, best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := []int{i}
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur = append(cur, min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost))
		}
		prev = cur
	}
	return prev[len(b)]
}
