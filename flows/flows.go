// Package flows lists qunbot's built-in flows in the order the engine runs
// their event handlers within a stage. Each flow lives in its own package.
package flows

import (
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/answers"
	"github.com/qunbot/qunbot/flows/audience"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/dashboard"
	"github.com/qunbot/qunbot/flows/event"
	"github.com/qunbot/qunbot/flows/federation"
	"github.com/qunbot/qunbot/flows/help"
	"github.com/qunbot/qunbot/flows/locks"
	"github.com/qunbot/qunbot/flows/lottery"
	"github.com/qunbot/qunbot/flows/moderation"
	"github.com/qunbot/qunbot/flows/notes"
	"github.com/qunbot/qunbot/flows/poll"
	"github.com/qunbot/qunbot/flows/posts"
	"github.com/qunbot/qunbot/flows/privacy"
	"github.com/qunbot/qunbot/flows/raid"
	"github.com/qunbot/qunbot/flows/stats"
	"github.com/qunbot/qunbot/flows/survey"
	"github.com/qunbot/qunbot/flows/tags"
	"github.com/qunbot/qunbot/flows/verify"
	"github.com/qunbot/qunbot/flows/wakeup"
	"github.com/qunbot/qunbot/flows/welcome"
)

// Builtin returns a fresh set of the built-in flows.
func Builtin() []engine.Flow {
	return []engine.Flow{federation.Flow{}, raid.Flow{}, adfilter.New(), verify.Flow{}, locks.Flow{}, welcome.Flow{}, checkin.Flow{}, moderation.Flow{}, privacy.Flow{}, posts.Flow{}, help.Flow{}, stats.Flow{}, wakeup.Flow{}, dashboard.Flow{}, answers.Flow{}, tags.Flow{}, audience.Flow{}, survey.Flow{}, notes.Flow{}, lottery.Flow{}, poll.Flow{}, event.Flow{}}
}
