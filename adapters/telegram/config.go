package telegram

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/config"
)

// Config is the Telegram adapter's section under adapters.telegram.
type Config struct {
	Token  config.Secret `yaml:"token"`
	APIURL string        `yaml:"api_url"` // default https://api.telegram.org; a local Bot API server works
	// Mode is polling (getUpdates; one active replica, others on standby)
	// or webhook (Telegram posts to http.listen; any number of replicas).
	Mode    string        `yaml:"mode"`
	Webhook Webhook       `yaml:"webhook"`
	Limits  config.Limits `yaml:"limits"`
	// PollTimeout is getUpdates' long-poll timeout (default 30s).
	PollTimeout config.Duration `yaml:"poll_timeout"`
	// AdminsTTL is how long a group's admin list is cached (default 10m);
	// admin changes seen in chat_member updates refresh it at once.
	AdminsTTL config.Duration `yaml:"admins_ttl"`
}

// Webhook is the webhook mode's settings.
type Webhook struct {
	URL     string        `yaml:"url"`      // public https URL Telegram posts to
	Path    string        `yaml:"path"`     // path served on http.listen (default /telegram)
	Secret  config.Secret `yaml:"secret"`   // X-Telegram-Bot-Api-Secret-Token; 1-256 of A-Z a-z 0-9 _ -
	MaxBody int64         `yaml:"max_body"` // bytes (default 1048576)
	// MaxConnections is passed to setWebhook (default 40).
	MaxConnections int `yaml:"max_connections"`
}

// SetDefaults implements Defaulter.
func (t *Config) SetDefaults() {
	t.APIURL, t.Mode = "https://api.telegram.org", "polling"
	t.Webhook.Path, t.Webhook.MaxBody, t.Webhook.MaxConnections = "/telegram", 1<<20, 40
	t.PollTimeout, t.AdminsTTL = config.Duration(30*time.Second), config.Duration(10*time.Minute)
	// Telegram publishes limits for messages only; deletions and
	// restrictions are not counted against them. 25/s for those keeps the
	// bot, messages included, near the ~30 requests/s Telegram tolerates
	// from one bot, and a 429 pauses as it asks.
	t.Limits = config.Limits{Global: config.Rate{N: 30, Per: time.Second}, PerGroup: config.Rate{N: 20, Per: time.Minute},
		PerPrivate: config.Rate{N: 1, Per: time.Second}, Moderation: config.Rate{N: 25, Per: time.Second}, Workers: 8}
}

var secretTokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// Validate implements Validator.
func (t *Config) Validate(report func(field, msg string)) {
	if t.Token == "" {
		report("token", "set the bot token, e.g. token: ${TELEGRAM_BOT_TOKEN}")
	}
	switch t.Mode {
	case "polling":
	case "webhook":
		if !strings.HasPrefix(t.Webhook.URL, "https://") {
			report("webhook.url", "webhook mode needs the public https:// URL Telegram posts to")
		}
		if !secretTokenRe.MatchString(t.Webhook.Secret.Reveal()) {
			report("webhook.secret", "set a secret of 1-256 characters A-Z a-z 0-9 _ -")
		}
	default:
		report("mode", fmt.Sprintf("unknown mode %q (use polling or webhook)", t.Mode))
	}
	if !strings.HasPrefix(t.APIURL, "http://") && !strings.HasPrefix(t.APIURL, "https://") {
		report("api_url", "must be an http(s) URL")
	}
	if !strings.HasPrefix(t.Webhook.Path, "/") {
		report("webhook.path", "must start with /")
	}
}
