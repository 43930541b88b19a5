package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// parseKeyID parses one --key-id value. Its error never repeats the value: a secret pasted by
// mistake (or an id and its secret run together) must not be echoed to the terminal, the
// scrollback or a CI log. It says what the value looks like instead (issue 12 §4).
func parseKeyID(s string) (accesskey.ID, error) {
	id, err := accesskey.ParseID(s)
	if err == nil {
		return id, nil
	}
	return accesskey.ID{}, &FlagError{Err: errors.New("--key-id: " + notAnID(s))}
}

// notAnID describes a value that is not an AccessKey id by its shape alone.
func notAnID(s string) string {
	alnum := true
	for i := 0; i < len(s); i++ {
		alnum = alnum && accesskey.IsAlnum(s[i])
	}
	const expected = "an AccessKey id is LTAI followed by 12 or 20 letters and digits (STS.… for a temporary one)"
	switch {
	case alnum && len(s) == accesskey.SecretLen:
		return fmt.Sprintf("%d letters and digits: that looks like an AccessKey secret, not an id (the value is not repeated); "+
			"pass the id, LTAI…, and treat the secret as exposed if it was typed where others can read it", accesskey.SecretLen)
	case strings.HasPrefix(s, accesskey.Prefix) && alnum:
		return fmt.Sprintf("LTAI followed by %d letters and digits, not an id (the value is not repeated, in case it holds a secret); %s",
			len(s)-len(accesskey.Prefix), expected)
	case strings.HasPrefix(s, accesskey.Prefix) || strings.HasPrefix(s, accesskey.STSPrefix):
		return fmt.Sprintf("%d characters, some of them neither letters nor digits (the value is not repeated, in case it holds a secret); %s",
			len(s), expected)
	}
	return fmt.Sprintf("%d characters not starting with LTAI or STS. (the value is not repeated, in case it is a secret); %s", len(s), expected)
}

// badKeyIDs is the error for --key-id values of which one is not an id: it names the first bad one
// by its shape (parseKeyID), never by its value.
func badKeyIDs(values []string) error {
	for _, v := range values {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if _, err := parseKeyID(s); err != nil {
				return err
			}
		}
	}
	return flagErrorf("--key-id: not an AccessKey id")
}
