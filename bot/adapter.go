package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Capability is one thing an adapter can do in a chat.
type Capability uint32

// Capabilities. Flows ask before acting and degrade predictably (report to
// moderators instead of deleting, mention in the group instead of a DM).
const (
	CanSend Capability = 1 << iota
	CanButtons
	CanDelete
	CanRestrict
	CanKick
	CanBan
	CanDM
	CanApprove     // join requests
	SeesMessages   // ordinary group messages reach the bot
	CanAutoDelete  // sent messages can be deleted later
	CanInviteLinks // per-member invite links
	CanPin         // pin a sent message
	// PostsAreTasks: a post goes out only after a person confirms it (WeCom
	// customer groups), so a flow leaves out what makes no sense hours
	// later (the welcome is left to WeCom's own template).
	PostsAreTasks
	// CanTag: the platform keeps member tags of its own, kept in step
	// with qunbot's (ActTag, ActUntag).
	CanTag
	// CanCloseChat: the group can be closed to members and opened again
	// (ActCloseChat, ActOpenChat: night mode).
	CanCloseChat
	// CanUpload: documents and pictures qunbot made can be uploaded.
	CanUpload
	// CanPoll: native polls (ActPoll), with votes reported per member.
	// Not in AllCapabilities: a platform says so itself, and flows fall
	// back to button polls.
	CanPoll
	// CanSourceLinks: a link or QR code can be made for one join source,
	// whose joins then carry its name (SourceLinker, Event.Source).
	CanSourceLinks
	AllCapabilities = CanSend | CanButtons | CanDelete | CanRestrict | CanKick | CanBan | CanDM | CanApprove | SeesMessages | CanAutoDelete | CanInviteLinks | CanPin | CanCloseChat | CanUpload | CanSourceLinks
)

var capNames = []struct {
	c    Capability
	name string
}{
	{CanSend, "send"}, {CanButtons, "buttons"}, {CanDelete, "delete"}, {CanRestrict, "restrict"},
	{CanKick, "kick"}, {CanBan, "ban"}, {CanDM, "dm"}, {CanApprove, "approve"},
	{SeesMessages, "sees_messages"}, {CanAutoDelete, "auto_delete"}, {CanInviteLinks, "invite_links"}, {CanPin, "pin"}, {PostsAreTasks, "posts_are_tasks"}, {CanTag, "tag"},
	{CanCloseChat, "close_chat"}, {CanUpload, "upload"}, {CanPoll, "poll"}, {CanSourceLinks, "source_links"},
}

// Has reports whether all of want are present.
func (c Capability) Has(want Capability) bool { return c&want == want }

// For is what of c can be done to m: a channel speaking in a group
// (Member.IsChannel) can be banned and its messages deleted, but it is
// not a member to mute, kick, approve or write to privately.
func (c Capability) For(m Member) Capability {
	if m.IsChannel {
		return c &^ (CanRestrict | CanKick | CanDM | CanApprove)
	}
	return c
}

func (c Capability) String() string {
	var names []string
	for _, n := range capNames {
		if c.Has(n.c) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// EventSink receives events from an adapter. HandleEvent returns an error
// when the event could not be processed and should be redelivered.
type EventSink interface {
	HandleEvent(ctx context.Context, ev Event) error
}

// Settler is implemented by sinks that record "handled" in batches (the
// engine does). An adapter settles before it acknowledges handled events
// to its platform — moves the polling offset, removes them from its inbox
// — so an event the platform will not deliver again is recorded as
// handled; an error means it may not be: do not acknowledge.
type Settler interface {
	Settle(ctx context.Context) error
}

// Settle settles sink if it batches, and is a no-op otherwise.
func Settle(ctx context.Context, sink EventSink) error {
	if s, ok := sink.(Settler); ok {
		return s.Settle(ctx)
	}
	return nil
}

// Adapter connects one platform. The engine defines it; adapters implement it.
type Adapter interface {
	// Name is the platform name used in chat keys ("telegram").
	Name() string
	// Capabilities reports what the adapter can do in one chat; platforms
	// such as WeCom differ per kind of group.
	Capabilities(chat string) Capability
	// Run receives platform traffic and passes events to sink until ctx ends.
	Run(ctx context.Context, sink EventSink) error
	// Do carries out one action.
	Do(ctx context.Context, a Action) (Result, error)
}

// Shaper is implemented by adapters whose platform takes an event's
// actions in a shape of its own (WeCom: one answer per incoming message,
// no replies where posts are tasks). The engine hands it the actions of
// one event, or of one piece of scheduled work, before they are queued.
type Shaper interface {
	Shape(actions []Action) []Action
}

// RetryAfterError is a platform's "too many requests, retry after N
// seconds". Global means the whole bot is paused, not only the chat.
type RetryAfterError struct {
	After  time.Duration
	Global bool
}

func (e *RetryAfterError) Error() string {
	scope := "chat"
	if e.Global {
		scope = "bot"
	}
	return fmt.Sprintf("rate limited (%s): retry after %s", scope, e.After)
}

// ErrTemporary marks errors worth retrying with backoff (5xx, network).
var ErrTemporary = errors.New("temporary failure")

// ErrUnreachable is returned when a DM cannot reach the member (they never
// started the bot); the outbox then sends the action's Fallback to the group.
var ErrUnreachable = errors.New("member cannot be reached privately")

// ErrUnsupported is returned for an action the adapter cannot do in a chat.
var ErrUnsupported = errors.New("not supported by this platform")

// InviteLinker is implemented by adapters that create per-member invite
// links (CanInviteLinks), for invite tracking.
type InviteLinker interface {
	InviteLink(ctx context.Context, chat, memberID, name string) (string, error)
}

// SourceLinker is implemented by adapters that make a link or QR code for
// one join source (CanSourceLinks): members who join through it arrive
// with name as their Event.Source.
type SourceLinker interface {
	SourceLink(ctx context.Context, chat, name string) (string, error)
}

// Task is a post a platform delivers later, after a person confirms it
// (WeCom's customer-group mass messages).
type Task struct {
	ID      string
	Created time.Time
	// Status in words: waiting for confirmation, sent, failed, ...
	Status string
}

// MemberCounter is implemented by adapters whose platform counts a group's
// members (Telegram getChatMemberCount, WeCom groupchat/get).
type MemberCounter interface {
	// MemberCount is how many members the platform counts in a group.
	MemberCount(ctx context.Context, chat string) (int, error)
}

// TaskLister is implemented by adapters whose posts in some chats are
// tasks; moderators read their status with /tasks.
type TaskLister interface {
	Tasks(ctx context.Context, chat string, n int) ([]Task, error)
}

// AdminChecker is implemented by adapters that can tell whether a member
// is one of a group's admins (a moderator command naming a member by id
// or @username must not reach an admin any more than one by reply).
type AdminChecker interface {
	IsAdmin(ctx context.Context, chat, member string) (bool, error)
}
