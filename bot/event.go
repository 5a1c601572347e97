// Package bot is qunbot's core: platform-neutral events and actions, the
// Adapter and Flow contracts, and the engine that runs flows over events.
//
// Adapters translate platform traffic into Events and carry out Actions;
// flows never import a platform SDK.
package bot

import (
	"strings"
	"time"
)

// EventKind says what happened.
type EventKind string

// Event kinds.
const (
	EventJoin        EventKind = "join"
	EventLeave       EventKind = "leave"
	EventJoinRequest EventKind = "join_request"
	EventMessage     EventKind = "message"
	EventCommand     EventKind = "command"
	EventButton      EventKind = "button"
	// EventVerified is raised by the verify flow (not a platform) when a
	// newcomer passes, so later flows (welcome) act on it.
	EventVerified EventKind = "verified"
	// EventSpam is raised by the ad filter (not a platform) when it removed
	// a message as spam, so other flows (anti-raid) can count it.
	EventSpam EventKind = "spam"
	// EventTimer is a scheduled job firing for the flow that set it.
	EventTimer EventKind = "timer"
	// EventEdit is only how an edited message is recorded (activity, not a
	// message); flows see it as EventMessage with Edited set.
	EventEdit EventKind = "edit"
	// EventService is the platform's own notice in the group of a join or
	// leave ("Ann joined the group", a Telegram service message), with its
	// MessageID, so it can be cleaned away. Member is who caused it. It
	// comes besides the join or leave itself, which is de-duplicated; the
	// notice is not activity.
	EventService EventKind = "service"
)

// ChatType tells groups from private chats with the bot.
type ChatType string

// Chat types.
const (
	ChatGroup   ChatType = "group"
	ChatPrivate ChatType = "private"
)

// Chat is where an event happened. Key is platform-qualified
// ("telegram:-1001234567890") and is the group's key in config and state.
type Chat struct {
	Key   string
	Type  ChatType
	Title string
}

// ID returns the platform's own chat id (the part after "platform:").
func (c Chat) ID() string {
	_, id, _ := strings.Cut(c.Key, ":")
	return id
}

// Member is the person (or bot) behind an event.
type Member struct {
	ID       string
	Name     string
	Username string
	IsBot    bool
	// IsAdmin is the platform's word: a group admin or owner.
	IsAdmin bool
	// IsChannel marks a channel speaking in a group (Telegram's "send
	// as"): not a person, so it cannot be muted, kicked, verified or
	// written to privately; a ban keeps it out (see Event.Member).
	IsChannel bool
}

// Command is a parsed bot command: "/warn@qunbot 3d spam" has Name "warn"
// and Args ["3d", "spam"].
type Command struct {
	Name string
	Args []string
	// ArgText is everything after the command, as typed.
	ArgText string
}

// Button is a pressed inline button.
type Button struct {
	ID        string // the platform's id of the press, to answer it
	Data      string // the flow's payload
	MessageID string // the message that carried the button
}

// Join sources the platform names no better (see Event.Source). The
// "qb:" prefix keeps them apart from the names operators give links.
const (
	SourceInvite = "qb:invite" // a member's personal invite link (/invite)
	SourceLink   = "qb:link"   // the group's link, or an unnamed one
	SourceQR     = "qb:qr"     // the group's QR code
	SourceAdded  = "qb:added"  // added by a member or an admin
)

// Event is one thing that happened on a platform, translated.
type Event struct {
	// ID is the platform's unique id of the update, used to process each
	// update once even when the platform redelivers it.
	ID       string
	Kind     EventKind
	Platform string
	Chat     Chat
	Member   Member
	// Group is the group a private-chat event concerns, when the adapter
	// knows it (a join request's group); otherwise Chat.
	Group string
	// By is who caused a join (an admin adding a member), when known.
	By *Member

	Text      string
	MessageID string
	// Thread is the forum topic the message (or the pressed button's
	// message) is in, on platforms with topics; empty for the main thread.
	Thread string
	// ReplyTo is the message this one answers, with its author.
	ReplyTo *Reply
	Command *Command
	Button  *Button
	Timer   *Timer
	// Links are the URLs in the message, visible and hidden (text links).
	Links []string
	// HiddenLinks are the links behind text (Telegram's text_link): also in
	// Links.
	HiddenLinks []string
	// Mentions are the @usernames the message mentions.
	Mentions []string
	// Forward is where a forwarded message came from.
	Forward *Forward
	// External is where the message this one replies to lives when it is
	// another chat's (Telegram's external_reply: a reply to a channel's
	// post, shown in the group), and Quote the part of it the member
	// quoted. Spam comes so: "in stock!" replying to a drug channel's
	// post and quoting its offer.
	External *Forward
	Quote    string
	// ViaBot is the inline bot a message was sent through (Telegram's
	// "via @bot"), by username; empty for a message the member wrote.
	ViaBot string
	// Buttons are the texts of the buttons a member's message carries (an
	// inline bot's keyboard); the URLs behind them are in Links and
	// HiddenLinks.
	Buttons []string
	// Media is what the message carries besides text (MediaPhoto, …);
	// empty for plain text.
	Media Media
	// Edited marks an edit of an earlier message: activity, not a new message.
	Edited bool
	// InviteLink is the invite link a member joined with, when known.
	InviteLink string
	// Source is what brought a joining member, for the join-source report
	// (/sources): a named invite link's or a WeCom join way's name as the
	// operator gave it ("poster-a"), or one of the Source* kinds; empty
	// when the platform does not say.
	Source string
	// Vouched marks a join the platform already checked (a WeCom join way
	// whose state the operator marked as verified).
	Vouched bool
	// CommandChecked says the adapter already looked for a command (and
	// left Command nil for one addressed to another bot), so the engine
	// does not parse the text again.
	CommandChecked bool
	Time           time.Time
}

// Media is the kind of content a message carries, in the words /lock
// takes.
type Media string

// Media kinds. A platform maps its own types onto these; one it has no
// word for is MediaOther.
const (
	MediaPhoto    Media = "photo"
	MediaVideo    Media = "video"
	MediaSticker  Media = "sticker"
	MediaGIF      Media = "gif"
	MediaVoice    Media = "voice" // voice notes and round video notes
	MediaAudio    Media = "audio"
	MediaDocument Media = "document"
	MediaPoll     Media = "poll"
	MediaContact  Media = "contact"
	MediaLocation Media = "location"
	MediaGame     Media = "game" // games and dice
	MediaOther    Media = "other"
)

// Forward is the origin of a forwarded message.
type Forward struct {
	FromChat  string // chat key of a channel or group, if any
	FromTitle string
	FromUser  string // member id of a user, if visible
	Name      string // a hidden user's name
}

// Reply identifies a replied-to message.
type Reply struct {
	MessageID string
	Member    Member
	Text      string
}

// GroupKey is the group whose state and config apply to the event.
func (e *Event) GroupKey() string {
	if e.Group != "" {
		return e.Group
	}
	return e.Chat.Key
}

// Timer is scheduled work come due (the scheduler raises it): the flow
// that set it ("" for the engine's own, such as an auto-delete), its kind
// ("deadline", or "fire" for a recurring schedule) and its arguments.
type Timer struct {
	Flow string
	Kind string
	Args map[string]string
}
