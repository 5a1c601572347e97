package wecom

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/config"
)

// Config is the WeCom (企业微信) adapter's section under adapters.wecom. Each part is optional: a
// self-built app (staff messages, internal app groups, alerts), customer
// contact (客户联系: customer groups), the AI bot (智能机器人), and group
// robot webhooks.
type Config struct {
	CorpID  string   `yaml:"corp_id"`
	APIURL  string   `yaml:"api_url"` // default https://qyapi.weixin.qq.com
	App     *App     `yaml:"app"`
	Contact *Contact `yaml:"contact"`
	AIBot   *AIBot   `yaml:"aibot"`
	// Archive reads the paid message archive (会话内容存档), so customer
	// groups' messages reach the ad filter, check-in words and activity.
	// Needs a build with -tags msgaudit (cgo and Tencent's Linux SDK).
	Archive *ArchiveConfig `yaml:"archive"`
	// Webhooks are group robots: a name (the chat is wecom:hook:<name>)
	// and the robot's webhook key.
	Webhooks map[string]config.Secret `yaml:"webhooks"`
	// Alerts are staff user ids told by app message what qunbot cannot do
	// itself in WeCom (remove an ad, kick a member of a customer group).
	Alerts []string `yaml:"alerts"`
	// MaxSkew is how far a callback's timestamp may be from now (default
	// 5m); older or newer callbacks are refused as replays.
	MaxSkew config.Duration `yaml:"max_skew"`
	// MaxBody caps a callback body (default 1 MiB).
	MaxBody int64         `yaml:"max_body"`
	Limits  config.Limits `yaml:"limits"`
}

// Callback is one callback endpoint's settings (from the WeCom admin
// console's "接收消息" page).
type Callback struct {
	Token          config.Secret `yaml:"token"`
	EncodingAESKey config.Secret `yaml:"encoding_aes_key"` // 43 characters
	Path           string        `yaml:"path"`             // served on http.listen
}

// App is a self-built app (自建应用).
type App struct {
	AgentID  int64         `yaml:"agent_id"`
	Secret   config.Secret `yaml:"secret"`
	Callback Callback      `yaml:"callback"`
}

// Contact is customer contact (客户联系).
type Contact struct {
	Secret   config.Secret `yaml:"secret"`
	Callback Callback      `yaml:"callback"`
	// Sender is the staff user id whose name customer-group tasks go out
	// under when a group's owner is unknown.
	Sender string `yaml:"sender"`
	// VerifiedState marks joins through a join way (加入群聊方式) with this
	// state as verified: the way itself checks newcomers (e.g. a form).
	VerifiedState string `yaml:"verified_state"`
	// Owners are more staff whose customer groups `qunbot wecom sync`
	// takes in, beside the sender.
	Owners []string `yaml:"owners"`
	// SyncOnStart runs the sync when `run` starts.
	SyncOnStart bool `yaml:"sync_on_start"`
	// TagGroup keeps qunbot's member tags in step with the corp's customer
	// tags, in the tag group of this name (made when missing); empty: no
	// sync.
	TagGroup string `yaml:"tag_group"`
}

// AIBot is the AI bot (智能机器人) in API mode.
type AIBot struct {
	BotID    string   `yaml:"bot_id"`
	Callback Callback `yaml:"callback"`
}

// ArchiveConfig is the message archive's settings (管理工具 → 会话内容存档).
type ArchiveConfig struct {
	Secret         config.Secret   `yaml:"secret"`
	PrivateKeyFile config.Path     `yaml:"private_key_file"` // the RSA key (PEM) whose public half is set in the console
	Interval       config.Duration `yaml:"interval"`         // how often to fetch (default 10s)
}

// SetDefaults implements Defaulter.
func (w *ArchiveConfig) SetDefaults() { w.Interval = config.Duration(10 * time.Second) }

// Validate implements Validator.
func (w *ArchiveConfig) Validate(report func(field, msg string)) {
	if w.Secret == "" || w.PrivateKeyFile == "" {
		report("", "set secret and private_key_file of the message archive")
	}
	if w.Interval < config.Duration(time.Second) {
		report("interval", "at least 1s")
	}
	if !archiveBuilt {
		// run would refuse it at start-up; say so where it is written
		report("", "this qunbot is built without the message archive SDK: build it with CGO_ENABLED=1 go build -tags msgaudit on Linux, or remove archive:")
	}
}

// SetDefaults implements Defaulter.
func (w *Config) SetDefaults() {
	w.APIURL, w.MaxSkew, w.MaxBody = "https://qyapi.weixin.qq.com", config.Duration(5*time.Minute), 1<<20
	// app messages: 30/s per app is well under WeCom's per-app limits;
	// group robots allow 20 messages a minute each
	w.Limits = config.Limits{Global: config.Rate{N: 20, Per: time.Second}, PerGroup: config.Rate{N: 20, Per: time.Minute},
		PerPrivate: config.Rate{N: 30, Per: time.Minute}, Moderation: config.Rate{N: 10, Per: time.Second}, Workers: 4}
}

var corpIDRe = regexp.MustCompile(`^[A-Za-z0-9]{6,32}$`)

// Validate implements Validator.
func (w *Config) Validate(report func(field, msg string)) {
	if !corpIDRe.MatchString(w.CorpID) && (w.App != nil || w.Contact != nil) {
		report("corp_id", "set the corp id (我的企业 → 企业ID), e.g. ww1436e0e65a779aee")
	}
	if !strings.HasPrefix(w.APIURL, "http://") && !strings.HasPrefix(w.APIURL, "https://") {
		report("api_url", "must be an http(s) URL")
	}
	if w.App == nil && w.Contact == nil && w.AIBot == nil && len(w.Webhooks) == 0 {
		report("", "configure at least one of app, contact, aibot, webhooks")
	}
	paths := map[string]bool{}
	check := func(at string, c Callback, def string) {
		if c.Token == "" {
			report(at+".token", "set the callback token")
		}
		if k := c.EncodingAESKey.Reveal(); len(k) != 43 {
			report(at+".encoding_aes_key", "the EncodingAESKey has 43 characters")
		} else if b, err := base64.StdEncoding.DecodeString(k + "="); err != nil || len(b) != 32 {
			report(at+".encoding_aes_key", "not a valid EncodingAESKey (base64 of 32 bytes without the trailing =)")
		}
		if c.Path == "" {
			c.Path = def
		}
		if !strings.HasPrefix(c.Path, "/") || paths[c.Path] {
			report(at+".path", "a path starting with /, different for each endpoint")
		}
		paths[c.Path] = true
	}
	if a := w.App; a != nil {
		if a.AgentID <= 0 || a.Secret == "" {
			report("app", "set agent_id and secret of the self-built app")
		}
		if a.Callback.Path == "" {
			a.Callback.Path = "/wecom/app"
		}
		check("app.callback", a.Callback, "/wecom/app")
	}
	if c := w.Contact; c != nil {
		if c.Secret == "" {
			report("contact.secret", "set the customer contact secret (客户联系 → API)")
		}
		if c.Callback.Path == "" {
			c.Callback.Path = "/wecom/contact"
		}
		check("contact.callback", c.Callback, "/wecom/contact")
	}
	if b := w.AIBot; b != nil {
		if b.Callback.Path == "" {
			b.Callback.Path = "/wecom/aibot"
		}
		check("aibot.callback", b.Callback, "/wecom/aibot")
	}
	for name, key := range w.Webhooks {
		if name == "" || key == "" {
			report("webhooks", fmt.Sprintf("robot %q needs a name and a webhook key", name))
		}
	}
}
