package emulator

// Restrictive protection (spec §14): once Alibaba flags an AccessKey as exposed, every call it
// signs to RAM (2015-05-01) or IMS (2019-08-15) fails with Forbidden, whoever sends it and from
// wherever, until the key is deleted; the flag cannot be lifted. The documented list also names
// some ECS, ECI and SMS actions, which the emulator does not serve; STS, ActionTrail, KMS and
// ResourceManager are not on it, so they still answer [INF: the list is "subject to change"].

// errFlagged is the documented answer "Forbidden : There is a risk of leakage of this
// AccessKey." split into Code and Message; the HTTP status is not documented [INF 403].
func errFlagged() *apiError {
	return errf(403, "Forbidden", "There is a risk of leakage of this AccessKey.")
}

// protect refuses a RAM or IMS call signed by a flagged key. It runs after authentication (the
// key is valid: the answer proves it) and before throttling, faults and permissions [INF order].
func protect(c *call) *apiError {
	if c.key == nil || !c.key.flagged.Load() {
		return nil
	}
	switch c.prod.code {
	case "ram", "ims":
		return errFlagged()
	}
	return nil
}

// FlagKey puts a key (live or in a recycle bin) under restrictive protection, as Alibaba does
// when it finds the key exposed; like the cloud's, the flag cannot be lifted. It reports whether
// the key exists.
func (s *Server) FlagKey(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[id]
	for _, a := range s.accounts {
		if k != nil {
			break
		}
		k = a.binned[id]
	}
	if k == nil || k.sess != nil {
		return false
	}
	k.flagged.Store(true)
	return true
}
