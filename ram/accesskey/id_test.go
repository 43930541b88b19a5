package accesskey

import (
	"strings"
	"testing"
)

func TestShorts(t *testing.T) {
	a, b, c := MustParseID("LTAI5tAAAAAAAAAAAAAA0001"), MustParseID("LTAI5tAAAAAAAAAAAAAB0001"), MustParseID("LTAI5tAAAAAAAAAAAAAC0002")
	other := MustParseID("LTAI5tZZZZZZZZZZZZZZ0001")
	for _, tc := range []struct {
		name string
		ids  []ID
		id   ID
		want string
	}{
		{"one id: as Short", []ID{a}, a, "LTAI…0001"},
		{"distinct tails: as Short", []ID{a, c}, c, "LTAI…0002"},
		{"same tail: one more character", []ID{a, b, c}, a, "LTAI…A0001"},
		{"same tail: the other", []ID{a, b, c}, b, "LTAI…B0001"},
		{"the same id twice is no clash", []ID{a, a}, a, "LTAI…0001"},
		{"an id not given: Short", []ID{a, b}, other, "LTAI…0001"},
		{"legacy and long-term", []ID{MustParseID("LTAIBBBBBBBB0001"), a}, a, "LTAI…A0001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Shorts(tc.ids)(tc.id); got != tc.want {
				t.Errorf("Shorts(%v)(%s) = %q, want %q", tc.ids, tc.id, got, tc.want)
			}
		})
	}
}

// NotAnID describes a value by its shape and never repeats it.
func TestNotAnID(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"abcdefghijABCDEFGHIJ0123456789", "looks like an AccessKey secret"},
		{"LTAI5tSHORT", "LTAI followed by 7 letters and digits"},
		{"LTAI5tMYCr1pxcx4vz2o7riE:abcdefghijABCDEFGHIJ0123456789", "55 characters, some of them neither letters nor digits"},
		{"STS.x-y", "7 characters, some of them neither"},
		{"hunter2", "7 characters not starting with LTAI or STS."},
	} {
		got := NotAnID(tc.value)
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.value) {
			t.Errorf("NotAnID(%q) = %q, want it to say %q without the value", tc.value, got, tc.want)
		}
	}
}
