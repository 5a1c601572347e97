package telegram

import (
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
)

// A group that refuses a call for want of an admin right (the bot is not
// an admin, or lacks "Ban users") would refuse every such call: each
// raider's restriction, each step of the warning ladder, each /mute. The
// adapter then stops offering that capability in the group for a while,
// so flows degrade as they do where a platform cannot (the ladder warns
// or skips the mute, /mute says it cannot, raid mode deletes a raider's
// messages instead), one warning is logged instead of an error per
// action, and it is tried again after lackRetry, or at once when
// Telegram reports a change in the bot's own membership (a promotion).
type lack struct {
	caps  bot.Capability
	until time.Time
}

// lackRetry is how long a right a group refused is not used.
const lackRetry = 10 * time.Minute

// rightOf is the capability a Bot API method needs an admin right for.
func rightOf(method string) bot.Capability {
	switch method {
	case "restrictChatMember":
		return bot.CanRestrict
	case "banChatMember", "unbanChatMember", "banChatSenderChat", "unbanChatSenderChat":
		return bot.CanBan | bot.CanKick
	case "approveChatJoinRequest", "declineChatJoinRequest":
		return bot.CanApprove
	case "createChatInviteLink", "editChatInviteLink", "revokeChatInviteLink":
		return bot.CanInviteLinks | bot.CanSourceLinks
	case "pinChatMessage":
		return bot.CanPin
	case "setChatPermissions":
		return bot.CanCloseChat
	}
	return 0
}

// lacksRight reports whether an error description says the bot lacks an
// admin right ("Bad Request: not enough rights to restrict/unrestrict
// chat member", "CHAT_ADMIN_REQUIRED", "need administrator rights in the
// channel chat"), as opposed to a refusal about the member ("user is an
// administrator of the chat", "can't remove chat owner").
func lacksRight(desc string) bool {
	d := strings.ToLower(desc)
	return strings.Contains(d, "not enough rights") || strings.Contains(d, "chat_admin_required") ||
		strings.Contains(d, "need administrator rights")
}

// markLacking stops offering what method needs in chat for lackRetry.
func (a *Adapter) markLacking(chat, method, desc string) {
	caps := rightOf(method)
	if chat == "" || caps == 0 {
		return
	}
	a.mu.Lock()
	l := a.lacking[chat]
	fresh := !a.now().Before(l.until) || l.caps&caps != caps
	if !a.now().Before(l.until) {
		l.caps = 0
	}
	l.caps |= caps
	l.until = a.now().Add(lackRetry)
	a.lacking[chat] = l
	a.mu.Unlock()
	if fresh {
		a.log.Warn("the bot lacks an admin right in this group; qunbot stops using it there for a while: make the bot an admin with it",
			zap.String("chat", chat), zap.String("method", method), zap.Stringer("capabilities", caps),
			zap.Duration("again_in", lackRetry), zap.String("telegram", desc))
	}
}

// lackingIn is what chat refused lately.
func (a *Adapter) lackingIn(chat string) bot.Capability {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.lacking[chat]
	if !ok || !a.now().Before(l.until) {
		return 0
	}
	return l.caps
}

// rightsChanged forgets what chat refused: the bot's membership changed.
func (a *Adapter) rightsChanged(chat string) {
	a.mu.Lock()
	delete(a.lacking, chat)
	a.mu.Unlock()
}
