// Package notify tells people what respond did: DingTalk, Slack, Lark/Feishu and a generic signed
// JSON webhook. A message never carries a secret; a notification failure is reported and retried,
// never fatal to the rotation.
package notify

import (
	"context"
	"time"

	"github.com/respond-dev/respond/rotate/journal"
)

// StepLine is one step of a rotation as a notification shows it.
type StepLine struct {
	Step    string          `json:"step"`
	Outcome journal.Outcome `json:"outcome"` // done, skipped, failed
	Detail  string          `json:"detail,omitempty"`
}

// Message is what every channel renders in its own format.
type Message struct {
	KeyID        string          `json:"key_id"`
	UserName     string          `json:"user_name,omitempty"`
	AccountID    string          `json:"account_id,omitempty"`
	AccountName  string          `json:"account_name,omitempty"`
	Outcome      journal.Outcome `json:"outcome"` // remediated, partial, failed, canary, refused
	Summary      string          `json:"summary"`
	Steps        []StepLine      `json:"steps,omitempty"`
	LeftForHuman []string        `json:"left_for_human,omitempty"`
	// Impact is the assessment of what the key did, rendered as text by the engine's caller
	// (rotate/assess.WriteText); channels include it verbatim.
	Impact string `json:"impact,omitempty"`
	// Incident is the hunt's incident graph, rendered as text by the engine (rotate/hunt's
	// Graph.WriteText, every name escaped); channels include it verbatim.
	Incident string    `json:"incident,omitempty"`
	Canary   bool      `json:"canary,omitempty"`
	Time     time.Time `json:"time"`
	// Test marks a test message (respond doctor --send-test): its title says so, and it lists
	// nothing left to do.
	Test bool `json:"test,omitempty"`
}

// Notifier sends a message to one channel.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, m Message) error
}
