package notify

import "time"

// DoctorMessage is the test message respond doctor --send-test sends: marked as a test in its
// title and text, about no key, with nothing left to do.
func DoctorMessage(channel string, now time.Time) Message {
	return Message{
		KeyID:   "(none: a test)",
		Outcome: "test",
		Summary: "respond doctor checked the channel " + channel + " with a test message. No key leaked and nothing was changed; no action is needed.",
		Time:    now,
		Test:    true,
	}
}
