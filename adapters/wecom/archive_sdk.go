//go:build linux && cgo && msgaudit

package wecom

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/silenceper/wechat/v2/work/config"
	"github.com/silenceper/wechat/v2/work/msgaudit"
)

// archiveBuilt says whether this build can read the message archive.
const archiveBuilt = true

// sdkArchive reads the archive through Tencent's C SDK, wrapped by
// silenceper's msgaudit (cgo; Linux only).
type sdkArchive struct{ c *msgaudit.Client }

func openArchive(corpID string, cfg *ArchiveConfig) (Archive, error) {
	key, err := os.ReadFile(string(cfg.PrivateKeyFile))
	if err != nil {
		return nil, fmt.Errorf("wecom archive: %w", err)
	}
	c, err := msgaudit.NewClient(&config.Config{CorpID: corpID, CorpSecret: cfg.Secret.Reveal(), RasPrivateKey: string(key)})
	if err != nil {
		return nil, fmt.Errorf("wecom archive: %w", err)
	}
	return sdkArchive{c}, nil
}

func (s sdkArchive) Fetch(_ context.Context, seq uint64, limit int) ([]ArchivedMessage, error) {
	list, err := s.c.GetChatData(seq, uint64(limit), "", "", 10)
	if err != nil {
		return nil, fmt.Errorf("wecom archive: %w", err)
	}
	out := make([]ArchivedMessage, 0, len(list))
	for _, d := range list {
		m, err := s.c.DecryptData(d.EncryptRandomKey, d.EncryptChatMsg)
		if err != nil {
			// one undecryptable message (an old key version) must not stop
			// the rest: keep its place, skip its content
			out = append(out, ArchivedMessage{Seq: d.Seq, MsgID: d.MsgID})
			continue
		}
		am := ArchivedMessage{Seq: d.Seq, MsgID: d.MsgID, From: m.From, Type: m.Type}
		if t, err := m.GetTextMessage(); err == nil {
			am.RoomID, am.Text, am.Time = t.RoomID, t.Text.Content, time.UnixMilli(t.MsgTime)
		}
		out = append(out, am)
	}
	return out, nil
}
