package wecom

import (
	"context"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
)

// Archive reads WeCom's message archive (会话内容存档): the only way to see
// what members write in customer groups. It is an interface so the default
// build needs no cgo; the SDK-backed one is built with -tags msgaudit.
type Archive interface {
	// Fetch returns decrypted messages after seq, oldest first, at most
	// limit.
	Fetch(ctx context.Context, seq uint64, limit int) ([]ArchivedMessage, error)
}

// ArchivedMessage is one archived message qunbot reads.
type ArchivedMessage struct {
	Seq    uint64
	MsgID  string
	RoomID string // the group; empty for one-to-one chats
	From   string
	Type   string // text, image, ...
	Text   string
	Time   time.Time
}

// pollArchive fetches archived messages and turns group text messages into
// events. One replica polls at a time (a lease in Redis); the sequence
// number is kept in Redis, so a restart goes on where it stopped.
func (a *Adapter) pollArchive(ctx context.Context, sink bot.EventSink, arc Archive, every time.Duration) {
	st := a.opt.Store
	lease, seqKey := st.GlobalKey("wecom", "archive", "lease"), st.GlobalKey("wecom", "archive", "seq")
	me := strconv.FormatInt(time.Now().UnixNano(), 36)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ok, err := st.Client().SetNX(ctx, lease, me, 3*every).Result()
		if err == nil && !ok {
			holder, _ := st.Client().Get(ctx, lease).Result()
			if ok = holder == me; ok {
				st.Client().PExpire(ctx, lease, 3*every)
			}
		}
		if err != nil {
			a.opt.Log.Warn("message archive: Redis unavailable", zap.Error(err))
		} else if ok {
			a.archiveOnce(ctx, sink, arc, seqKey)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// archiveOnce fetches until the archive has nothing newer.
func (a *Adapter) archiveOnce(ctx context.Context, sink bot.EventSink, arc Archive, seqKey string) {
	st := a.opt.Store
	for ctx.Err() == nil {
		seq, _ := st.Client().Get(ctx, seqKey).Uint64()
		msgs, err := arc.Fetch(ctx, seq, 100)
		if err != nil {
			a.opt.Log.Warn("message archive not read", zap.Error(err))
			return
		}
		if len(msgs) == 0 {
			return
		}
		stuck := false
		for _, m := range msgs {
			if ev, ok := archiveEvent(m); ok {
				if err := a.deliver(ctx, sink, ev); err != nil {
					stuck = true // not handled yet: the position stays before it
					break
				}
			}
			seq = max(seq, m.Seq)
		}
		if err := st.Client().Set(ctx, seqKey, seq, 0).Err(); err != nil {
			a.opt.Log.Warn("message archive position not kept", zap.Error(err))
			return
		}
		if stuck {
			return // the next round tries again
		}
	}
}

// archiveEvent makes an archived group text message a group message event
// (customer groups' room id is their chat id).
func archiveEvent(m ArchivedMessage) (bot.Event, bool) {
	kind, known := archiveMedia[m.Type]
	if m.RoomID == "" || !known || m.From == "" || m.MsgID == "" {
		return bot.Event{}, false
	}
	ev := bot.Event{ID: "arc:" + m.MsgID, Kind: bot.EventMessage, Platform: "wecom",
		Chat: bot.Chat{Key: chatKey(kindCustomer, m.RoomID), Type: bot.ChatGroup}, Member: bot.Member{ID: m.From, Name: m.From},
		Text: m.Text, MessageID: m.MsgID, Time: m.Time, Media: kind}
	if m.Type == "chatrecord" {
		ev.Forward = &bot.Forward{Name: "chat record"} // a bundle of forwarded messages
	}
	return ev, true
}

// archiveMedia maps the archive's msgtype (the message-archive API's
// document, 91774) to the words /lock takes; "" is text.
var archiveMedia = map[string]bot.Media{
	"text": "", "markdown": "", "link": "", "image": bot.MediaPhoto, "video": bot.MediaVideo, "emotion": bot.MediaSticker,
	"voice": bot.MediaVoice, "file": bot.MediaDocument, "vote": bot.MediaPoll, "card": bot.MediaContact,
	"location": bot.MediaLocation, "weapp": bot.MediaOther, "chatrecord": bot.MediaOther, "mixed": bot.MediaOther,
}
