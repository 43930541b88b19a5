//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package doctor

import "errors"

var errNoStatfs = errors.New("free space is not measured on this system")

func freeBytes(string) (uint64, error) { return 0, errNoStatfs }
