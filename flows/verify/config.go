package verify

import (
	"fmt"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/render"
)

// Methods of verification.
const (
	MethodButton      = "button"
	MethodQuestion    = "question"
	MethodMath        = "math"
	MethodJoinRequest = "join_request"
)

// Config is the verify section.
type Config struct {
	// Method: button, question, math or join_request.
	Method string `yaml:"method"`
	// Challenge is what a join_request applicant is asked in the DM:
	// button, question or math (default button).
	Challenge string          `yaml:"challenge"`
	Timeout   config.Duration `yaml:"timeout"`
	// Attempts is how many answers a newcomer may give (default 3).
	Attempts int `yaml:"attempts"`
	// OnFail: kick (default), ban or mute.
	OnFail string `yaml:"on_fail"`
	// FailFor is how long a ban or mute on failure lasts (0: forever for a
	// ban; a mute defaults to 1d).
	FailFor config.Duration `yaml:"fail_for"`
	// RejoinSkip: members who passed and rejoin within this skip the check
	// (default 30d; 0 checks every join).
	RejoinSkip config.Duration `yaml:"rejoin_skip"`
	// TrustAdminAdds skips the check for members and bots an admin added
	// (default true). Bots joining by themselves are always checked.
	TrustAdminAdds bool `yaml:"trust_admin_adds"`
	// Question and Answers are the question method's challenge; answers
	// match ignoring case, full-/half-width and surrounding spaces.
	Question string   `yaml:"question"`
	Answers  []string `yaml:"answers"`
	// Choices is how many buttons the button method shows (2 to 8).
	Choices int `yaml:"choices"`
	// Prompt replaces the built-in challenge text. Values: .Flow.Timeout,
	// .Flow.Answer (the button to press), .Flow.Question, .Flow.Attempts.
	Prompt render.Template `yaml:"prompt"`
}

func defaults() *Config {
	return &Config{Method: MethodButton, Challenge: MethodButton, Timeout: config.Duration(2 * time.Minute),
		Attempts: 3, OnFail: "kick", RejoinSkip: config.Duration(30 * 24 * time.Hour), TrustAdminAdds: true, Choices: 4}
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	switch c.Method {
	case MethodButton, MethodQuestion, MethodMath, MethodJoinRequest:
	default:
		report("method", fmt.Sprintf("unknown method %q (use button, question, math or join_request)", c.Method))
	}
	switch c.Challenge {
	case MethodButton, MethodQuestion, MethodMath:
	default:
		report("challenge", fmt.Sprintf("unknown challenge %q (use button, question or math)", c.Challenge))
	}
	if (c.Method == MethodQuestion || c.Method == MethodJoinRequest && c.Challenge == MethodQuestion) && (c.Question == "" || len(c.Answers) == 0) {
		report("question", "the question method needs question: and at least one of answers:")
	}
	switch c.OnFail {
	case "kick", "ban", "mute":
	default:
		report("on_fail", fmt.Sprintf("unknown on_fail %q (use kick, ban or mute)", c.OnFail))
	}
	if c.Attempts < 1 {
		report("attempts", "must be at least 1")
	}
	if c.Choices < 2 || c.Choices > len(items) {
		report("choices", fmt.Sprintf("must be from 2 to %d", len(items)))
	}
	if c.Timeout.D() < 10*time.Second {
		report("timeout", "must be at least 10s")
	}
}
