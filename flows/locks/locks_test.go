package locks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/locks"
	"github.com/qunbot/qunbot/flows/moderation"
	"github.com/qunbot/qunbot/flows/stats"
)

func TestParseKinds(t *testing.T) {
	tests := []struct {
		words   string
		want    locks.Kind
		unknown string
	}{
		{"sticker", locks.Stickers, ""},
		{"stickers gifs", locks.Stickers | locks.GIFs, ""},
		{"media", locks.Media, ""},
		{"url, forward", locks.Links | locks.Forwards, ""},
		{"all", locks.All, ""},
		{"Photo FILES", locks.Photos | locks.Documents, ""},
		{"sticker spaceships", locks.Stickers, "spaceships"},
		{"rtl russian chinese", locks.RTL | locks.Cyrillic | locks.CJK, ""},
		{"inline buttons", locks.Inline | locks.Buttons, ""},
		{"anonchannel", locks.Channels, ""},
	}
	for _, tc := range tests {
		got, unknown := locks.ParseKinds(strings.Fields(tc.words))
		if got != tc.want || strings.Join(unknown, " ") != tc.unknown {
			t.Errorf("%q → %b %v, want %b %q", tc.words, got, unknown, tc.want, tc.unknown)
		}
	}
	if got := strings.Join(locks.Media.Names(), ","); got != "photo,video,sticker,gif,voice,audio,document" {
		t.Errorf("media names %s", got)
	}
}

func TestOf(t *testing.T) {
	allow := func(h string) bool { return h == "coffee.example" || strings.HasSuffix(h, ".coffee.example") }
	tests := []struct {
		name string
		ev   bot.Event
		want locks.Kind
	}{
		{"text", bot.Event{Text: "good morning, café"}, 0},
		{"chinese", bot.Event{Text: "早上好"}, locks.CJK},
		{"japanese", bot.Event{Text: "カワイイ"}, locks.CJK},
		{"korean", bot.Event{Text: "안녕하세요"}, locks.CJK},
		{"russian", bot.Event{Text: "Подработка, пишите в ЛС"}, locks.Cyrillic},
		{"a look-alike", bot.Event{Text: "раураl login"}, locks.Cyrillic},
		{"arabic", bot.Event{Text: "مرحبا بكم"}, locks.RTL},
		{"hebrew", bot.Event{Text: "שלום"}, locks.RTL},
		{"a right-to-left override", bot.Event{Text: "invoice‮fdp.exe"}, locks.RTL},
		{"greek is none of them", bot.Event{Text: "καλημέρα"}, 0},
		{"sticker", bot.Event{Media: bot.MediaSticker}, locks.Stickers},
		{"photo with a link", bot.Event{Media: bot.MediaPhoto, Text: "see t.me/spam"}, locks.Photos | locks.Links},
		{"link glued to words", bot.Event{Text: "加我www.x.cn"}, locks.Links | locks.CJK},
		{"allowed domain", bot.Event{Text: "menu https://shop.coffee.example/a"}, 0},
		{"hidden link", bot.Event{Text: "click", Links: []string{"https://evil.example/x"}}, locks.Links},
		{"forward", bot.Event{Text: "x", Forward: &bot.Forward{FromChat: "telegram:-100"}}, locks.Forwards},
		{"voice note", bot.Event{Media: bot.MediaVoice}, locks.Voice},
		{"poll", bot.Event{Media: bot.MediaPoll}, locks.Polls},
		{"via an inline bot", bot.Event{Text: "hi", ViaBot: "gif"}, locks.Inline},
		{"an inline bot's button to a link", bot.Event{Text: "hi", ViaBot: "promo_bot", Buttons: []string{"Join"}, Links: []string{"https://t.me/+AbC"}},
			locks.Inline | locks.Buttons | locks.Links},
		{"sent as a channel", bot.Event{Text: "hi", Member: bot.Member{ID: "-1002222", IsChannel: true}}, locks.Channels},
	}
	for _, tc := range tests {
		if got := locks.Of(&tc.ev, allow); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got.Names(), tc.want.Names())
		}
	}
}

const conf = `
locale: en
moderators: ["console:mod"]
timezone: Asia/Shanghai
flows:
  moderation: {}
  locks:
    warn: %s
    night: {hours: "23:00-07:00"}
`

func media(h *bottest.Harness, who string, m bot.Media) {
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member(who), Media: m, MessageID: who + string(m) + h.Clock.Now().Format("150405")})
}

func TestLockDeletesAndWarnsWhenConfigured(t *testing.T) {
	for _, warn := range []string{"false", "true"} {
		h := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}}, strings.Replace(conf, "%s", warn, 1))
		h.Join("ann")
		h.Say("mod", "/lock sticker")
		h.Out.Take()
		media(h, "ann", bot.MediaSticker)
		got := bottest.Summary(h.Out.Take())
		if !strings.Contains(got, "delete:ann") {
			t.Fatalf("warn %s: a locked sticker stays: %s", warn, got)
		}
		n, err := adfilter.WarningCount(context.Background(), h.Store, bottest.Group, "ann", 30*24*time.Hour, h.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"false": 0, "true": 1}[warn]; n != want {
			t.Errorf("warn %s: %d warnings, want %d", warn, n, want)
		}
		media(h, "mod", bot.MediaSticker)
		if got := bottest.Summary(h.Out.Take()); strings.Contains(got, "delete") {
			t.Errorf("a moderator's sticker was deleted: %s", got)
		}
		media(h, "ann", bot.MediaPhoto)
		if got := bottest.Summary(h.Out.Take()); strings.Contains(got, "delete") {
			t.Errorf("an unlocked photo was deleted: %s", got)
		}
	}
}

func TestNightModeClosesDeletesAndOpens(t *testing.T) {
	h := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}}, strings.Replace(conf, "%s", "false", 1))
	h.Join("ann")
	h.Out.Take()
	// bottest.Start is 17:00 in Shanghai: close at 23:00, open at 07:00
	h.Advance(6*time.Hour + time.Minute)
	got := bottest.Summary(h.Out.Take())
	if !strings.Contains(got, "close") || !strings.Contains(got, "send") {
		t.Fatalf("at 23:00: %s", got)
	}
	h.Say("ann", "still up?") // what still arrives (a close that failed) is deleted
	if got := bottest.Summary(h.Out.Take()); !strings.Contains(got, "delete:ann") {
		t.Errorf("a night message stays: %s", got)
	}
	h.Say("mod", "night shift")
	if got := bottest.Summary(h.Out.Take()); strings.Contains(got, "delete") {
		t.Errorf("a moderator's night message went: %s", got)
	}
	h.Advance(8 * time.Hour)
	if got := bottest.Summary(h.Out.Take()); !strings.Contains(got, "open") {
		t.Errorf("at 07:00: %s", got)
	}
	h.Say("ann", "morning")
	if got := bottest.Summary(h.Out.Take()); strings.Contains(got, "delete") {
		t.Errorf("a morning message went: %s", got)
	}
}

func TestLockNeedsDeletion(t *testing.T) {
	h := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}}, strings.Replace(conf, "%s", "false", 1))
	h.Out.Caps = bot.CanSend
	h.Say("mod", "/lock sticker")
	if got := h.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, "cannot delete") {
		t.Errorf("/lock where nothing can be deleted: %+v", got)
	}
	if es, _ := adfilter.Recent(context.Background(), h.Store, bottest.Group, 5); len(es) != 0 {
		t.Errorf("a refused lock was logged: %+v", es)
	}
}

// What locks removed shows in /stats.
func TestLockedInStats(t *testing.T) {
	h := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}, stats.Flow{}}, strings.Replace(conf, "%s", "false", 1)+"  stats: {}\n")
	h.Join("ann")
	h.Say("mod", "/lock sticker")
	media(h, "ann", bot.MediaSticker)
	h.Out.Take()
	h.Say("mod", "/stats 7d")
	var reply string
	for _, a := range h.Out.Take() {
		reply += a.Text
	}
	if !strings.Contains(reply, "Locked removed 1") {
		t.Errorf("/stats 7d:\n%s", reply)
	}
}

// Join and leave notices (Rose's cleanservice): deleted once "service" is
// locked, by the config or a moderator's /lock; "all" does not take them;
// nobody is warned or counted for the platform's own message.
func TestServiceNoticesCleaned(t *testing.T) {
	notice := func(h *bottest.Harness, id string) []bot.Action {
		h.Event(bot.Event{Kind: bot.EventService, Member: bottest.Member("ann"), MessageID: id})
		return h.Out.Take()
	}
	deleted := func(acts []bot.Action, id string) bool {
		for _, a := range acts {
			if a.Type == bot.ActDelete && a.MessageID == id {
				return true
			}
		}
		return false
	}
	h := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}}, strings.Replace(conf, "%s", "true", 1))
	h.Join("ann")
	h.Out.Take()
	if acts := notice(h, "s1"); len(acts) != 0 {
		t.Fatalf("nothing locked, a notice was acted on: %s", bottest.Summary(acts))
	}
	h.Say("mod", "/lock all")
	h.Out.Take()
	if acts := notice(h, "s2"); deleted(acts, "s2") {
		t.Error(`"all" cleaned a service notice`)
	}
	h.Say("mod", "/lock service")
	if got := h.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, "service") {
		t.Errorf("/lock service answered %+v", got)
	}
	acts := notice(h, "s3")
	if !deleted(acts, "s3") || len(acts) != 1 {
		t.Errorf("a locked notice: %s, want its deletion alone (no warning, no notice)", bottest.Summary(acts))
	}
	n, err := adfilter.WarningCount(context.Background(), h.Store, bottest.Group, "ann", 30*24*time.Hour, h.Clock.Now())
	if err != nil || n != 0 {
		t.Errorf("the joiner was warned for the platform's notice: %d %v", n, err)
	}
	h.Say("mod", "/unlock service")
	h.Out.Take()
	if acts := notice(h, "s4"); deleted(acts, "s4") {
		t.Error("cleaned after /unlock service")
	}

	// locked by the config from the start
	cfg := strings.Replace(strings.Replace(conf, "%s", "false", 1), "    night:", "    locked: [service]\n    night:", 1)
	h2 := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}}, cfg)
	if acts := notice(h2, "s5"); !deleted(acts, "s5") {
		t.Errorf("locked by the config: %s", bottest.Summary(acts))
	}
}

// A group that locks a script loses its members' messages in it, and
// keeps the rest; /locks names the lock. Bit values of existing kinds are
// unchanged (they are stored in Redis).
func TestScriptLocks(t *testing.T) {
	if locks.Service != 1<<14 || locks.RTL != 1<<15 || locks.Cyrillic != 1<<16 || locks.CJK != 1<<17 {
		t.Fatalf("kind bits moved: service %b, rtl %b", locks.Service, locks.RTL)
	}
	h := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}}, strings.Replace(conf, "%s", "false", 1))
	h.Join("ann")
	h.Say("mod", "/lock cyrillic rtl")
	h.Out.Take()
	for _, tc := range []struct {
		text string
		gone bool
	}{
		{"Подработка, пишите в ЛС", true},
		{"раураl: verify your account", true},
		{"مرحبا بكم", true},
		{"hello everyone", false},
		{"大家好", false},
	} {
		h.Say("ann", tc.text)
		if got := strings.Contains(bottest.Summary(h.Out.Take()), "delete:ann"); got != tc.gone {
			t.Errorf("%q deleted = %v, want %v", tc.text, got, tc.gone)
		}
	}
	h.Say("mod", "/locks")
	if got := bottest.Texts(h.Out.Take()); !strings.Contains(got, "rtl") || !strings.Contains(got, "cyrillic") {
		t.Errorf("/locks: %s", got)
	}
}

// /lock inline and /lock button (Rose's): messages sent through an inline
// bot, and messages with buttons, are deleted; the rest stay.
func TestInlineAndButtonLocks(t *testing.T) {
	if locks.Inline != 1<<18 || locks.Buttons != 1<<19 {
		t.Fatalf("kind bits: inline %b, buttons %b", locks.Inline, locks.Buttons)
	}
	for _, tc := range []struct {
		lock    string
		via     string
		buttons []string
		gone    bool
	}{
		{"inline", "gif", nil, true},
		{"inline", "", nil, false},
		{"button", "promo_bot", []string{"Join"}, true},
		{"button", "gif", nil, false},
	} {
		h := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}}, strings.Replace(conf, "%s", "false", 1))
		h.Join("ann")
		h.Say("mod", "/lock "+tc.lock)
		h.Out.Take()
		h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "hi", MessageID: "m1", ViaBot: tc.via, Buttons: tc.buttons})
		if got := strings.Contains(bottest.Summary(h.Out.Take()), "delete:ann"); got != tc.gone {
			t.Errorf("/lock %s, via %q, buttons %v: deleted = %v, want %v", tc.lock, tc.via, tc.buttons, got, tc.gone)
		}
	}
}

// /lock channel (Rose's anonchannel): a message sent as a channel is
// deleted; the group's linked channel (an admin) and members pass.
func TestChannelLock(t *testing.T) {
	if locks.Channels != 1<<20 {
		t.Fatalf("kind bit: channels %b", locks.Channels)
	}
	spam := bot.Member{ID: "-1002222", Name: "Crypto Signals", IsChannel: true}
	own := bot.Member{ID: "-1001111", Name: "Coffee News", IsChannel: true, IsAdmin: true}
	for _, tc := range []struct {
		name string
		m    bot.Member
		gone bool
	}{
		{"a channel", spam, true},
		{"the linked channel", own, false},
		{"a member", bottest.Member("ann"), false},
	} {
		h := bottest.New(t, []engine.Flow{moderation.Flow{}, locks.Flow{}}, strings.Replace(conf, "%s", "false", 1))
		h.Join("ann")
		h.Say("mod", "/lock anonchannel")
		h.Out.Take()
		h.Event(bot.Event{Kind: bot.EventMessage, Member: tc.m, Text: "hi", MessageID: "m1"})
		if got := strings.Contains(bottest.Summary(h.Out.Take()), "delete:"+tc.m.ID); got != tc.gone {
			t.Errorf("%s: deleted = %v, want %v", tc.name, got, tc.gone)
		}
	}
}
