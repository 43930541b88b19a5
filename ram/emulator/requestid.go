package emulator

// requestID returns a unique RequestId: an upper-case UUID (lower-case for KMS) whose low 48 bits
// and clock sequence are a per-server counter, the rest a seeded hash of it. It takes no lock.
func (s *Server) requestID(lower bool) string {
	lo := s.ridSeq.Add(1)
	hi := mix64(s.ridSalt + lo*0x9e3779b97f4a7c15)
	var b [36]byte
	appendHex(b[:0], uint64(uint32(hi>>32)), 8, lower)
	b[8] = '-'
	appendHex(b[9:9], uint64(uint16(hi>>16)), 4, lower)
	b[13] = '-'
	b[14] = '4'
	appendHex(b[15:15], uint64(uint16(hi)&0xfff), 3, lower)
	b[18] = '-'
	appendHex(b[19:19], uint64(0x8000|uint16(lo>>48)&0x3fff), 4, lower)
	b[23] = '-'
	appendHex(b[24:24], lo&0xffffffffffff, 12, lower)
	return string(b[:])
}

// appendHex appends the width low hex digits of v (upper or lower case) to b.
func appendHex(b []byte, v uint64, width int, lower bool) []byte {
	digits := upperHex
	if lower {
		digits = "0123456789abcdef"
	}
	for i := width - 1; i >= 0; i-- {
		b = append(b, digits[(v>>(4*uint(i)))&15])
	}
	return b
}

// mix64 is the splitmix64 finaliser: a bijection that scatters consecutive inputs.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
