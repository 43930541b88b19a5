package playbooks

import "fmt"

// SourceSecurityCenter is the source of the findings respond reads from Alibaba Cloud Security
// Center's AccessKey leak detection (respond --from security-center): a match's sources entry,
// and the source the built-in rule answers with contain-first.
const SourceSecurityCenter = "security-center"

// validateClose checks where the close step stands: it marks the source's alerts handled, which
// is true only once the leaked key is gone, so it runs after delete and after verify.
func validateClose(l *errList, idx func(StepID) int, stepAt func(StepID) pos) {
	c := idx(StepClose)
	if c < 0 {
		return
	}
	if d := idx(StepDelete); d >= 0 && c < d {
		l.addAt(stepAt(StepClose), "steps[%d]: close before delete: close marks the source's alert handled, which is true only once the leaked key is deleted; expected close after delete", c)
	} else if v := idx(StepVerify); v >= 0 && c < v {
		l.addAt(stepAt(StepClose), "steps[%d]: close before verify: an alert is closed only once verify has confirmed the key is gone; expected close after verify", c)
	}
}

// BuiltinRule is the rule that applies when neither the configuration's rules nor its playbooks'
// match blocks chose (see Config.Select): Security Center findings get contain-first, since
// Alibaba found the key in public and it must be assumed in use.
func BuiltinRule(in PlaybookInput) (name, reason string, ok bool) {
	if in.Source == SourceSecurityCenter {
		return "contain-first", fmt.Sprintf("built-in rule: source %q gets contain-first (Alibaba found the key in public: assume it is being used)", in.Source), true
	}
	return "", "", false
}
