package emulator

import (
	"hash/maphash"
	"sync"
	"time"
)

// nonceWindow is how long a SignatureNonce stays used: the Timestamp window (check 8), so a
// replay is caught for as long as its Timestamp would still be accepted.
const nonceWindow = 15 * time.Minute

// defaultNonceLimit bounds the nonce memory (about 60 MB when full). Beyond it the oldest nonces
// are forgotten before their window ends: at 20,000 signed requests/s, after about 50 s.
const defaultNonceLimit = 1 << 20

// nonceCache remembers (AccessKeyId, SignatureNonce) pairs for a time window, up to a fixed number
// of entries. Each pair is kept as a 128-bit keyed hash (a false "used" needs a 2^-128 collision),
// with its expiry; a FIFO ring in arrival order lets every insertion evict expired and, when
// full, oldest entries in O(1) amortised time.
type nonceCache struct {
	mu     sync.Mutex
	seeds  [2]maphash.Seed
	seen   map[[2]uint64]int64 // hash -> expiry (Unix ns)
	ring   []nonceEntry        // FIFO, len(ring) is a power of two once allocated
	head   int
	n      int
	limit  int
	window time.Duration
}

type nonceEntry struct {
	h   [2]uint64
	exp int64
}

func newNonceCache(limit int, window time.Duration) *nonceCache {
	return &nonceCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		seen: map[[2]uint64]int64{}, limit: max(limit, 1), window: window}
}

func (nc *nonceCache) hash(keyID, nonce string) [2]uint64 {
	var out [2]uint64
	for i, seed := range nc.seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		_, _ = h.WriteString(keyID)
		_ = h.WriteByte(0)
		_, _ = h.WriteString(nonce)
		out[i] = h.Sum64()
	}
	return out
}

// fresh records the pair and reports whether it was not already used within the window. The
// pair stays used until the later of now and ts (the request's Timestamp), plus the window.
func (nc *nonceCache) fresh(keyID, nonce string, now, ts time.Time) bool {
	h := nc.hash(keyID, nonce)
	from := now
	if ts.After(now) {
		from = ts
	}
	exp := from.Add(nc.window).UnixNano()
	t := now.UnixNano()
	nc.mu.Lock()
	defer nc.mu.Unlock()
	nc.evict(t)
	if e, ok := nc.seen[h]; ok && e > t {
		return false
	}
	nc.seen[h] = exp
	nc.push(nonceEntry{h, exp})
	return true
}

// evict drops expired entries from the front of the ring, and the oldest while full.
func (nc *nonceCache) evict(now int64) {
	for nc.n > 0 {
		e := nc.ring[nc.head]
		if e.exp > now && nc.n < nc.limit {
			return
		}
		if nc.seen[e.h] == e.exp {
			delete(nc.seen, e.h)
		}
		nc.ring[nc.head] = nonceEntry{}
		nc.head = (nc.head + 1) & (len(nc.ring) - 1)
		nc.n--
	}
}

func (nc *nonceCache) push(e nonceEntry) {
	if nc.n == len(nc.ring) {
		grown := make([]nonceEntry, max(64, 2*len(nc.ring)))
		for i := range nc.n {
			grown[i] = nc.ring[(nc.head+i)&(len(nc.ring)-1)]
		}
		nc.ring, nc.head = grown, 0
	}
	nc.ring[(nc.head+nc.n)&(len(nc.ring)-1)] = e
	nc.n++
}

func (nc *nonceCache) len() int {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	return nc.n
}
