package accesskey

import "testing"

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
