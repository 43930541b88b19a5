package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/rotate/journal"
)

// DefaultLeftForHuman is what respond cannot do for the user after a rotation: the seed
// procedure's steps 3 and 4, and the copies it cannot know about.
func DefaultLeftForHuman() []string {
	return []string{
		"Remove the leaked key from the source code or configuration where it was found, and read the new key from where respond stored it.",
		"If it was committed to git, remove it from the history (git filter-repo or BFG Repo-Cleaner), force-push, and ask forks and clones to re-clone; treat every commit that held it as compromised.",
		"Update every other copy of the old key (CI variables, other hosts, teammates' machines): it no longer works.",
		"Review the impact below; undo what the key did that you did not do yourself (users, keys, policies, instances).",
	}
}

// leftForHuman is the message's list, or the default one when the caller gave none (a canary
// raises an alert instead and gets none).
func leftForHuman(m Message) []string {
	if len(m.LeftForHuman) > 0 || m.Canary || m.Outcome == "canary" || m.Test {
		return m.LeftForHuman
	}
	return DefaultLeftForHuman()
}

var outcomeWords = map[journal.Outcome]string{
	"remediated": "remediated",
	"partial":    "partly remediated: re-run respond to finish",
	"failed":     "FAILED: the leaked key may still work",
	"canary":     "CANARY KEY USED: someone is using a honeytoken",
	"refused":    "refused by policy: nothing was changed",
}

// Title is the one-line headline of a message.
func Title(m Message) string {
	if m.Test {
		return "TEST from respond doctor: this channel works; no key leaked, nothing changed"
	}
	w := outcomeWords[m.Outcome]
	if w == "" {
		w = string(m.Outcome)
	}
	return fmt.Sprintf("Leaked AccessKey %s: %s", m.KeyID, w)
}

func who(m Message) string {
	var parts []string
	if m.UserName != "" {
		parts = append(parts, "RAM user "+m.UserName)
	}
	switch {
	case m.AccountName != "" && m.AccountID != "":
		parts = append(parts, fmt.Sprintf("account %s (%s)", m.AccountName, m.AccountID))
	case m.AccountID != "":
		parts = append(parts, "account "+m.AccountID)
	case m.AccountName != "":
		parts = append(parts, "account "+m.AccountName)
	}
	return strings.Join(parts, ", ")
}

var outcomeMarks = map[journal.Outcome]string{"done": "✔", "skipped": "–", "failed": "✘", "planned": "…"}

// sections is a message cut into titled blocks of lines, the common ground of every format.
type section struct {
	title string
	lines []string
	code  bool // the lines are preformatted (the impact)
	// numbered lines already carry their "1. " prefix
	numbered bool
}

func sections(m Message) []section {
	var out []section
	head := []string{"Key: " + m.KeyID}
	if w := who(m); w != "" {
		head = append(head, "Owner: "+w)
	}
	if !m.Time.IsZero() {
		head = append(head, "Time: "+m.Time.UTC().Format(time.RFC3339))
	}
	if m.Summary != "" {
		head = append(head, m.Summary)
	}
	out = append(out, section{lines: head})
	if len(m.Steps) > 0 {
		var lines []string
		for _, s := range m.Steps {
			mark := outcomeMarks[s.Outcome]
			if mark == "" {
				mark = "•"
			}
			l := fmt.Sprintf("%s %s: %s", mark, s.Step, s.Outcome)
			if s.Detail != "" {
				l += " — " + s.Detail
			}
			lines = append(lines, l)
		}
		out = append(out, section{title: "What respond did", lines: lines})
	}
	if left := leftForHuman(m); len(left) > 0 {
		var lines []string
		for i, l := range left {
			lines = append(lines, fmt.Sprintf("%d. %s", i+1, l))
		}
		out = append(out, section{title: "Left for you", lines: lines, numbered: true})
	}
	if strings.TrimSpace(m.Impact) != "" {
		out = append(out, section{title: "What the key did (ActionTrail)", lines: strings.Split(strings.TrimRight(m.Impact, "\n"), "\n"), code: true})
	}
	if strings.TrimSpace(m.Incident) != "" {
		out = append(out, section{title: "What the attacker created (incident graph)", lines: strings.Split(strings.TrimRight(m.Incident, "\n"), "\n"), code: true})
	}
	return out
}

// Text renders a message as plain text: the generic webhook's "text" and a fallback everywhere.
func Text(m Message) string {
	var b strings.Builder
	b.WriteString(Title(m) + "\n")
	for _, s := range sections(m) {
		b.WriteString("\n")
		if s.title != "" {
			b.WriteString(s.title + ":\n")
		}
		for _, l := range s.lines {
			if s.title != "" {
				b.WriteString("  ")
			}
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// Markdown renders a message as the Markdown subset DingTalk and Lark accept.
func Markdown(m Message) string {
	var b strings.Builder
	b.WriteString("### " + Title(m) + "\n")
	for _, s := range sections(m) {
		b.WriteString("\n")
		if s.title != "" {
			b.WriteString("**" + s.title + "**\n\n")
		}
		for _, l := range s.lines {
			if s.code {
				b.WriteString("> " + l + "\n")
				continue
			}
			if s.title == "" {
				b.WriteString(l + "\n\n")
				continue
			}
			if s.numbered {
				b.WriteString(l + "\n")
				continue
			}
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}
