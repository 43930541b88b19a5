package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDoctorMessage: every format of the test message says it is a test, names the channel,
// and lists nothing left to do.
func TestDoctorMessage(t *testing.T) {
	m := DoctorMessage("oncall", time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	slack, _ := json.Marshal(SlackPayload(m))
	lark, _ := json.Marshal(LarkPayload(m))
	for name, s := range map[string]string{"text": Text(m), "markdown": Markdown(m), "slack": string(slack), "lark": string(lark)} {
		if !strings.Contains(s, "TEST from respond doctor") || !strings.Contains(s, "oncall") {
			t.Errorf("%s: not marked as a test of oncall:\n%s", name, s)
		}
		if strings.Contains(s, "Left for you") || strings.Contains(s, "Leaked AccessKey") {
			t.Errorf("%s: reads like an incident:\n%s", name, s)
		}
	}
}
