package bot

import (
	"time"
)

// ActionType says what an action does.
type ActionType string

// Action types. The names are part of `qunbot console --json` output.
const (
	ActSend        ActionType = "send"
	ActDM          ActionType = "dm"
	ActDelete      ActionType = "delete"
	ActRestrict    ActionType = "restrict"
	ActUnrestrict  ActionType = "unrestrict"
	ActKick        ActionType = "kick"
	ActBan         ActionType = "ban"
	ActUnban       ActionType = "unban"
	ActApprove     ActionType = "approve"
	ActDecline     ActionType = "decline"
	ActAnswerPress ActionType = "answer" // acknowledge a button press, with an optional notice
	ActPin         ActionType = "pin"
	// ActUnpin unpins MessageID, or the latest pinned message when empty.
	ActUnpin ActionType = "unpin"
	// ActCloseChat takes members' right to post in the group (night
	// mode); ActOpenChat gives back what they had before.
	ActCloseChat ActionType = "close"
	ActOpenChat  ActionType = "open"
	// ActPoll sends a native poll (Poll); ActClosePoll closes the poll
	// in MessageID. Platforms with native polls only (CanPoll).
	ActPoll      ActionType = "poll"
	ActClosePoll ActionType = "close_poll"
	// ActTag and ActUntag set or remove a member's tag (Text) on the
	// platform too, where it keeps tags of its own (WeCom's customer tags).
	ActTag   ActionType = "tag"
	ActUntag ActionType = "untag"
	// ActCancel withdraws the queued actions with the same Key that have
	// not gone out yet (the challenge of a member who already left). The
	// outbox carries it out; it never reaches the platform.
	ActCancel ActionType = "cancel"
)

// Lane is how urgently an action goes out; lower lanes go first.
type Lane int

// Lanes, in the order the outbox serves them.
const (
	// LaneProtect: actions that protect the group (delete, restrict, kick,
	// ban, join requests, answering a press). They never wait behind
	// messages and do not count against the message limits.
	LaneProtect Lane = iota
	// LaneReply: messages a member is waiting for (replies, challenges,
	// notices) and everything else not marked Bulk.
	LaneReply
	// LaneBulk: scheduled posts and broadcasts.
	LaneBulk
	// Lanes is the number of lanes.
	Lanes
)

// Lane returns the lane the action waits in.
func (a Action) Lane() Lane {
	switch a.Type {
	case ActDelete, ActRestrict, ActUnrestrict, ActKick, ActBan, ActUnban, ActApprove, ActDecline, ActAnswerPress, ActCloseChat, ActOpenChat:
		return LaneProtect
	}
	if a.Bulk {
		return LaneBulk
	}
	return LaneReply
}

// ButtonSpec is an inline button: a callback (Data) or a link (URL).
type ButtonSpec struct {
	Text string `json:"text"`
	Data string `json:"data,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Action is something a flow wants done on a platform.
type Action struct {
	Type ActionType
	// Chat is the chat key the action applies to; for ActDM the member's
	// private chat is implied by Member.
	Chat string
	// Member is the target of a member action, or the DM recipient.
	Member Member
	// Mentioned are the other members a message names to notify them (a
	// burst welcome, lottery winners, a wake-up batch, a post's audience):
	// where a platform has no @username for a member, the adapter links
	// their name instead (Telegram: a tg://user link), as it does for
	// Member. Names are linked in order, each at its first appearance
	// after the previous one.
	Mentioned []Member `json:",omitempty"`
	// Thread is the forum topic a message goes to (Telegram's
	// message_thread_id); empty: the chat's main thread. An answer to an
	// event in a topic goes to that topic (FlowContext.Do).
	Thread string `json:",omitempty"`
	Text   string
	// Buttons are rows of inline buttons.
	Buttons [][]ButtonSpec
	// ReplyTo is the message id a send answers.
	ReplyTo string
	// MessageID is the message to delete, or the pressed button's message.
	MessageID string
	// DeleteAfter removes a sent message after this long (0 = keep).
	DeleteAfter time.Duration
	// Until ends a restriction or ban; zero means no end.
	Until time.Time
	// CallbackID is the press to answer (ActAnswerPress).
	CallbackID string
	// Flow names the flow that asked, for logs and metrics.
	Flow string
	// Remember stores the sent message's id in Redis (a member or group
	// field), so a flow can delete it later.
	Remember *Remember
	// Image is a picture URL sent with the text as its caption.
	Image string
	// ImagePNG is a picture made by qunbot (a report's chart), uploaded
	// with the text as its caption where the platform takes uploads
	// (Telegram); elsewhere the text goes alone.
	ImagePNG []byte `json:",omitempty"`
	// File is a document qunbot made (an export), uploaded with the text
	// as its caption where the platform takes uploads; elsewhere the text
	// says where to get it.
	File *File `json:",omitempty"`
	// Poll is a native poll to send (ActPoll).
	Poll *Poll `json:",omitempty"`
	// Pin pins the sent message.
	Pin bool
	// AllowText keeps plain text allowed while restricting (a newcomer who
	// must type an answer).
	AllowText bool
	// Fallback is sent to the group when a DM cannot reach the member
	// (they never started the bot); empty means no fallback.
	Fallback string
	// Bulk marks a message that may wait behind replies and moderation:
	// a scheduled post, a wake-up broadcast.
	Bulk bool
	// Expires drops the action if it has not gone out by then: a
	// challenge past its member's deadline, a notice past its life.
	Expires time.Time
	// Key names the action, so an ActCancel with the same Key withdraws
	// it while it waits.
	Key string
	// Origin is the update the action answers and its place among that
	// update's actions ("telegram:-100…/tg:42#0"); the engine sets it. A
	// durable outbox journals one action per origin, so running an update
	// again after a crash (its first run queued the actions but died
	// before marking it done) does not queue them twice.
	Origin string
	// Then are queued once the platform has carried the action out, and
	// Else once it has failed for good: a moderator's "banned" reply is
	// sent only when the ban happened.
	Then, Else []Action
	// Audit is written to the group's moderation log once the outcome is
	// known, with the outcome.
	Audit *Audit
}

// Audit is a moderation log entry for an action: who asked, what, why.
// The member is the action's; the group its chat.
type Audit struct {
	By     string
	What   string
	Reason string
	// Text is the message a removal was about, kept so that a moderator
	// can later call it "not spam" and teach the filter the whole of it.
	Text string
}

// Poll is a native poll. Votes come back as button events in the poll's
// chat, with Data "poll:ans:<ID>:<option indices, comma-separated>"
// (empty: the vote was taken back), so flows handle them like presses.
type Poll struct {
	ID        string // the flow's id of the poll
	Question  string
	Options   []string
	Anonymous bool // an anonymous poll's votes are not reported per member
	Multiple  bool
}

// File is a document to upload.
type File struct {
	Name string
	Data []byte
}

// IsMessage reports whether the action posts a message, which counts
// against the platform's message rate limits.
func (a Action) IsMessage() bool { return a.Type == ActSend || a.Type == ActDM || a.Type == ActPoll }

// Result is what an adapter reports after carrying out an action.
type Result struct {
	MessageID string // id of a sent message (its last part)
	// Earlier are the ids of the message's earlier parts, first first, when
	// the platform's length limit made it several messages: a deletion
	// takes them too, a pin takes the first.
	Earlier []string
	// Chat is where the message went, when that is not the action's Chat
	// (a DM goes to the member's private chat).
	Chat string
}

// Remember names where a sent message's id is kept: the member's field, or
// the group's when Member is empty.
type Remember struct {
	Group  string
	Member string
	Field  string
}
