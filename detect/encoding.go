package detect

import (
	"errors"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Reader turns UTF-16 (the byte-order mark already read) into UTF-8 as a stream, in bounded
// memory. Unpaired surrogates and a dangling last byte become U+FFFD, as encoding/json and
// bufio.Scanner treat other broken text.
type utf16Reader struct {
	r         io.Reader
	bigEndian bool
	in        [16 << 10]byte
	n         int    // bytes of in not yet decoded (0 or 1: half a code unit, or a held surrogate)
	held      rune   // a high surrogate waiting for its low half, or -1
	out       []byte // decoded, not yet returned
	buf       []byte // out's storage, reused
	err       error
}

func newUTF16Reader(r io.Reader, bigEndian bool) *utf16Reader {
	return &utf16Reader{r: r, bigEndian: bigEndian, held: -1}
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		u.fill()
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

// fill reads one block and decodes every whole code unit in it.
func (u *utf16Reader) fill() {
	m, err := u.r.Read(u.in[u.n:])
	m += u.n
	if u.buf == nil {
		u.buf = make([]byte, 0, len(u.in)*3/2+2*utf8.UTFMax)
	}
	out := u.buf[:0] // every code unit gives at most 3 bytes of UTF-8, a pair 4
	i := 0
	for ; i+1 < m; i += 2 {
		var cu rune
		if u.bigEndian {
			cu = rune(u.in[i])<<8 | rune(u.in[i+1])
		} else {
			cu = rune(u.in[i+1])<<8 | rune(u.in[i])
		}
		switch {
		case u.held >= 0 && utf16.IsSurrogate(cu) && cu >= 0xdc00:
			out = utf8.AppendRune(out, utf16.DecodeRune(u.held, cu))
			u.held = -1
			continue
		case u.held >= 0:
			out = utf8.AppendRune(out, utf8.RuneError)
			u.held = -1
		}
		switch {
		case cu >= 0xd800 && cu < 0xdc00:
			u.held = cu
		case utf16.IsSurrogate(cu):
			out = utf8.AppendRune(out, utf8.RuneError)
		default:
			out = utf8.AppendRune(out, cu)
		}
	}
	u.n = copy(u.in[:], u.in[i:m])
	if err != nil {
		if errors.Is(err, io.EOF) && (u.n > 0 || u.held >= 0) {
			out = utf8.AppendRune(out, utf8.RuneError)
			u.n, u.held = 0, -1
		}
		u.err = err
	}
	u.out = out
}
