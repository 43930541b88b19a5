package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
)

// argsHint adds to a positional-argument error what was probably meant: a key id given without
// --key-id, or a command name close to the one typed (respond locat).
func argsHint(cmd *cobra.Command, args []string, err error) error {
	if len(args) == 0 {
		return err
	}
	a := strings.TrimSpace(args[0])
	if id, perr := accesskey.ParseID(a); perr == nil {
		return fmt.Errorf("%w: to respond to a key id, use --key-id %s", err, id)
	}
	if strings.HasPrefix(a, accesskey.Prefix) || strings.HasPrefix(a, accesskey.STSPrefix) || accesskey.SecretShaped(a) {
		// Not an id, and maybe one with its secret run together, or a secret: neither the value
		// nor cobra's error (which quotes it) is repeated.
		return fmt.Errorf("unexpected argument: %s; to respond to a key id, use --key-id with the id alone", accesskey.NotAnID(a))
	}
	cmd.SuggestionsMinimumDistance = 2
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		return fmt.Errorf("%w; did you mean %s?", err, strings.Join(s, " or "))
	}
	return err
}

// flagHint adds "did you mean --dry-run?" to an unknown flag's error: the command's flag within
// two edits (playbooks.Nearest).
func flagHint(cmd *cobra.Command, err error) error {
	typed, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if best, ok := playbooks.Nearest(typed, names); ok {
		return fmt.Errorf("%w; did you mean --%s?", err, best)
	}
	return err
}
