package ram

import (
	"errors"
	"strings"
)

// ErrKeyFlagged: the key that signed the call is valid but under Alibaba's "restrictive
// protection" (alibaba-api.md §14): Alibaba found it exposed, and every RAM and IMS call it
// signs answers Forbidden, "There is a risk of leakage of this AccessKey.", until the key is
// deleted. It proves the key works: a leaked key answering this must still be deleted, by
// another principal (a flagged key cannot delete itself).
var ErrKeyFlagged = errors.New("access key flagged as leaked by Alibaba Cloud (restrictive protection)")

// flaggedAnswer reports the restrictive-protection answer: Code Forbidden (shared with many
// other refusals) and the documented message.
func flaggedAnswer(code, message string) bool {
	return code == "Forbidden" && strings.Contains(strings.ToLower(message), "risk of leakage")
}
