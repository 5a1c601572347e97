package audience

import (
	"context"
	"strings"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/flows/wakeup"
)

// Flow answers /audience: how many members a spec picks.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "audience" }

// Schema implements engine.Flow: on everywhere (nothing to set).
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &struct{}{} }, DefaultOn: true}
}

var words = i18n.Catalog{
	"zh-CN": {
		"help": "预览一个受众有多少人", "count": "符合 %s 的成员：%d 人。", "all": "所有在群成员",
		"bad": "看不懂：%v\n例：/audience tiers=silent,churned tags=辅食 none=已购 points=100 within=30d before=90d",
	},
	"en": {
		"help": "preview how many members an audience picks", "count": "Members matching %s: %d.", "all": "everyone present",
		"bad": "I can't read that: %v\nExample: /audience tiers=silent,churned tags=weaning none=bought points=100 within=30d before=90d",
	},
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "audience", Args: "tiers=… tags=… all=… none=… points=N within=30d before=90d by=@member", Help: words.T(loc, "help"), Moderator: true, Group: true}}
}

// HandleCommand implements engine.Commander.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	spec, err := Parse(fc.Event.Command.Args)
	if err != nil {
		fc.Reply(words.T(loc, "bad", err))
		return nil
	}
	if strings.HasPrefix(spec.InvitedBy, "@") {
		id, err := fc.Store.ByUsername(ctx, fc.Event.GroupKey(), spec.InvitedBy)
		if err != nil {
			return err
		}
		if id == "" {
			fc.Reply(words.T(loc, "bad", "by="+spec.InvitedBy+": ?"))
			return nil
		}
		spec.InvitedBy = id
	}
	tiers := wakeup.DefaultTiers()
	if c, on := fc.Flow("wakeup"); on {
		tiers = c.(*wakeup.Config).Tiers
	}
	_, n, err := Resolve(ctx, fc.Store, fc.Event.GroupKey(), spec, tiers, fc.Now, false)
	if err != nil {
		return err
	}
	what := strings.Join(fc.Event.Command.Args, " ")
	if what == "" {
		what = words.T(loc, "all")
	}
	fc.Reply(words.T(loc, "count", what, n))
	return nil
}
