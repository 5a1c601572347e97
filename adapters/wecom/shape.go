package wecom

import (
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
)

// Shape implements bot.Shaper: WeCom's own rules for the actions of one
// event, so the engine needs to know none of them.
//   - In customer groups a post is a task the owner confirms, perhaps hours
//     later: a reply, or a notice meant to delete itself, makes no sense
//     then and is not posted.
//   - A chat with the AI bot takes one answer per incoming message (the
//     response_url answers once), so the plain messages of one event to
//     such a chat are joined into the first: a check-in reply and its
//     level-up notice both arrive.
func (a *Adapter) Shape(actions []bot.Action) []bot.Action {
	first := map[string]int{}
	out := actions[:0:0]
	for _, act := range actions {
		kind, _ := chatKind(act.Chat)
		if act.Type == bot.ActSend && kind == kindCustomer && (act.ReplyTo != "" || act.DeleteAfter > 0) {
			a.opt.Log.Info("not posted: posts here wait for a person's confirmation, and this one is a reply or a notice",
				zap.String("chat", act.Chat), zap.String("flow", act.Flow))
			continue
		}
		plain := act.Type == bot.ActSend && len(act.Buttons) == 0 && act.Image == "" && !act.Pin
		if !plain || kind != kindBot {
			out = append(out, act)
			continue
		}
		if i, ok := first[act.Chat]; ok {
			out[i].Text += "\n\n" + act.Text
			if out[i].ReplyTo == "" {
				out[i].ReplyTo = act.ReplyTo // the message the answer goes to
			}
			continue
		}
		first[act.Chat] = len(out)
		out = append(out, act)
	}
	return out
}
