package tags_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/tags"
)

func flows() []engine.Flow { return []engine.Flow{checkin.Flow{}, tags.Flow{}} }

const conf = `
locale: zh-CN
moderators: ["console:mod"]
flows:
  checkin: { points: 5 }
  tags:
    rules:
      - { keywords: ["辅食机", "辅食"], tag: 辅食, expire: 90d }
      - { checkin_streak: 3, tag: 打卡达人 }
      - { points: 12, tag: 积分大户 }
`

func tagsOf(t *testing.T, h *bottest.Harness, member string) string {
	t.Helper()
	var names []string
	for _, tg := range tags.Of(h.Fields(member), h.Clock.Now()) {
		names = append(names, tg.Name)
	}
	return strings.Join(names, ",")
}

func members(t *testing.T, h *bottest.Harness, tag string) string {
	t.Helper()
	ms, err := tags.Members(context.Background(), h.Store, bottest.Group, tag, h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(ms, ",")
}

// A keyword tag is set by what a member says and expires; its set holds
// the member while it lasts.
func TestKeywordTagExpires(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Say("ann", "有人用过这款輔食機吗")
	h.Say("bob", "今天天气好")
	if got := tagsOf(t, h, "ann"); got != "辅食" {
		t.Fatalf("ann's tags %q, want 辅食", got)
	}
	if got := members(t, h, "辅食"); got != "ann" {
		t.Fatalf("辅食 members %q", got)
	}
	h.Advance(91 * 24 * time.Hour)
	if got := tagsOf(t, h, "ann"); got != "" {
		t.Errorf("after 91 days ann still has %q", got)
	}
	if got := members(t, h, "辅食"); got != "" {
		t.Errorf("after expiry the set holds %q", got)
	}
}

// Behaviour: a check-in streak of 3 and 12 points (a message after them:
// the tags read the record the message brought).
func TestBehaviourTags(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	for d := 0; d < 3; d++ {
		h.Say("ann", "签到")
		h.Advance(24 * time.Hour)
	}
	h.Say("ann", "早")
	if got := tagsOf(t, h, "ann"); got != "打卡达人,积分大户" {
		t.Fatalf("ann's tags %q, want 打卡达人 and 积分大户 (15 points, streak 3)", got)
	}
	tg := tags.Of(h.Fields("ann"), h.Clock.Now())
	if !strings.Contains(tg[0].Why, "streak 3") || !tg[0].Expires.IsZero() {
		t.Errorf("why/expiry: %+v", tg[0])
	}
}

// Moderators tag and untag; /whois shows the tags and why; members may not.
func TestModeratorTags(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Say("ann", "你好")
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("mod"), Text: "/tag VIP 30d", ReplyTo: &bot.Reply{MessageID: "x", Member: bottest.Member("ann")}})
	if got := tagsOf(t, h, "ann"); got != "VIP" {
		t.Fatalf("after /tag: %q", got)
	}
	h.Say("mod", "/whois @ann")
	var text string
	for _, a := range h.Out.Take() {
		if strings.Contains(a.Text, "标签") {
			text = a.Text
		}
	}
	if !strings.Contains(text, "VIP (by mod, → ") {
		t.Fatalf("/whois: %q", text)
	}
	h.Say("bob", "/tag @ann 坏人")
	if got := tagsOf(t, h, "ann"); got != "VIP" {
		t.Fatalf("a member tagged: %q", got)
	}
	h.Say("mod", "/untag @ann VIP")
	h.Say("mod", "/tag @ann 有 空格") // not a duration: refused
	if got := tagsOf(t, h, "ann"); got != "" {
		t.Errorf("after /untag and a bad /tag: %q", got)
	}
	h.Say("mod", "/tag @ann 有")
	if got := tagsOf(t, h, "ann"); got != "有" {
		t.Errorf("after /tag: %q", got)
	}
	h.Say("mod", "/tag @nobody X")
	found := false
	for _, a := range h.Out.Take() {
		found = found || strings.Contains(a.Text, "找不到") || strings.Contains(a.Text, "用法")
	}
	if !found {
		t.Error("an unknown member got no clear answer")
	}
}

// Where the platform keeps tags (WeCom), qunbot's go there too: once when
// set (not on a renewal), off with /untag and when they run out.
func TestPlatformTags(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Out.Caps = bot.AllCapabilities | bot.CanTag
	platform := func() []string {
		var out []string
		for _, a := range h.Out.Take() {
			if a.Type == bot.ActTag || a.Type == bot.ActUntag {
				out = append(out, string(a.Type)+":"+a.Member.ID+":"+a.Text)
			}
		}
		return out
	}
	h.Say("ann", "辅食机好用吗")
	h.Say("ann", "辅食怎么做") // renews the 90 days
	if got := strings.Join(platform(), " "); got != "tag:ann:辅食" {
		t.Fatalf("after two mentions: %q, want one tag", got)
	}
	h.Advance(60 * 24 * time.Hour)
	h.Say("ann", "辅食又来了") // renewed: the first job finds it live
	h.Advance(40 * 24 * time.Hour)
	if got := strings.Join(platform(), " "); got != "" {
		t.Fatalf("a renewed tag left the platform: %q", got)
	}
	h.Advance(51 * 24 * time.Hour)
	if got := strings.Join(platform(), " "); got != "untag:ann:辅食" {
		t.Fatalf("after it ran out: %q", got)
	}
	h.Say("mod", "/tag @ann VIP")
	h.Say("mod", "/untag @ann VIP")
	if got := strings.Join(platform(), " "); got != "tag:ann:VIP untag:ann:VIP" {
		t.Fatalf("moderator tag and untag: %q", got)
	}
}

// A source rule tags a member on joining through that source (a named
// invite link, a WeCom join way's state): with why, in the tag's set, on
// the platform where it keeps tags (a WeCom customer tag, once); another
// source, or none, tags nothing.
func TestSourceTags(t *testing.T) {
	h := bottest.New(t, flows(), conf+"      - { source: poster-a, tag: 海报A }\n      - { source: qb:invite, tag: 被邀请 }\n")
	h.Out.Caps = bot.AllCapabilities | bot.CanTag
	join := func(name, source string) {
		h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member(name), Source: source})
	}
	join("ann", "poster-a")
	join("bob", "poster-b")
	join("cat", bot.SourceInvite)
	join("dan", "")
	var platform []string
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActTag {
			platform = append(platform, a.Member.ID+":"+a.Text)
		}
	}
	if got := strings.Join(platform, " "); got != "ann:海报A cat:被邀请" {
		t.Errorf("platform tags %q", got)
	}
	if got := members(t, h, "海报A"); got != "ann" {
		t.Errorf("海报A's members: %q", got)
	}
	for who, want := range map[string]string{"ann": "海报A", "bob": "", "cat": "被邀请", "dan": ""} {
		if got := tagsOf(t, h, who); got != want {
			t.Errorf("%s's tags %q, want %q", who, got, want)
		}
	}
	if tg := tags.Of(h.Fields("ann"), h.Clock.Now()); len(tg) != 1 || tg[0].Why != "joined through poster-a" {
		t.Errorf("why: %+v", tg)
	}
	// /whois says where a member came from
	for who, want := range map[string]string{"ann": "入群：2026-01-05（来源：poster-a）", "cat": "（来源：成员邀请链接）"} {
		if got := bottest.Texts(h.Command("mod", "/whois @"+who, nil)); !strings.Contains(got, want) {
			t.Errorf("/whois @%s: %s", who, got)
		}
	}
}
