package rotate

import "slices"

// Warnings are the distinct warnings of the clients the session built, respond's own and each
// configured account's (ram.Client.Warnings: an endpoint reached over plain HTTP that is not this
// machine), in the order they were first met. The caller shows them; ram and rotate never print.
func (c *Session) Warnings() []string {
	var out []string
	for _, w := range c.warnings {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}
