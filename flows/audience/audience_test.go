package audience_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/audience"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/posts"
	"github.com/qunbot/qunbot/flows/tags"
	"github.com/qunbot/qunbot/flows/wakeup"
)

func flows() []engine.Flow {
	return []engine.Flow{checkin.Flow{}, tags.Flow{}, posts.Flow{}, audience.Flow{}}
}

const conf = `
locale: zh-CN
moderators: ["console:mod"]
flows:
  checkin: {}
  tags:
    rules: [{ keywords: ["辅食"], tag: 辅食 }]
  posts:
    items:
      - { name: weaning-tips, cron: "0 20 * * *", text: "辅食小贴士：先从米粉开始", audience: { tags: [辅食] } }
`

// community: ann active with the tag, bob silent, cat churned with the
// tag, dan active with 100 points; it is day 70.
func community(t *testing.T, caps bot.Capability) *bottest.Harness {
	t.Helper()
	h := bottest.New(t, flows(), conf)
	h.Out.Caps = caps
	for _, m := range []string{"ann", "bob", "cat", "dan"} {
		h.Join(m)
	}
	h.Say("cat", "宝宝辅食怎么做")
	h.Advance(60 * 24 * time.Hour)
	h.Say("bob", "好久不见")
	h.Advance(9 * 24 * time.Hour)
	h.Say("ann", "辅食机推荐一下")
	h.Say("dan", "早")
	if _, err := checkin.NewLedger(h.Store, bottest.Group, 1000).Award(context.Background(), "dan", 100, "test", h.Clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	// ann brought bob in (as the checkin flow's invites record it)
	h.Redis.ZAdd(context.Background(), checkin.InviteesKey(h.Store, bottest.Group, "ann"), redis.Z{Score: 1, Member: "bob"})
	h.Advance(time.Hour)
	h.Out.Take()
	return h
}

func TestResolve(t *testing.T) {
	h := community(t, bot.AllCapabilities)
	tiers := wakeup.DefaultTiers()
	tiers.CoreTop = 0
	tests := []struct {
		spec audience.Spec
		want string
	}{
		{audience.Spec{}, "ann,bob,cat,dan"},
		{audience.Spec{Tiers: []string{"silent"}}, "bob"},
		{audience.Spec{Tiers: []string{"churned"}}, "cat"},
		{audience.Spec{Tiers: []string{"active"}}, "ann,dan"},
		{audience.Spec{Tiers: []string{"silent", "churned"}}, "bob,cat"},
		{audience.Spec{Tiers: []string{"active", "churned"}}, "ann,cat,dan"},
		{audience.Spec{Tags: audience.TagSpec{Any: []string{"辅食"}}}, "ann,cat"},
		{audience.Spec{Tags: audience.TagSpec{Any: []string{"辅食"}}, Tiers: []string{"churned", "silent"}}, "cat"},
		{audience.Spec{Tags: audience.TagSpec{None: []string{"辅食"}}}, "bob,dan"},
		{audience.Spec{Tags: audience.TagSpec{All: []string{"辅食", "nope"}}}, ""},
		{audience.Spec{MinPoints: 50}, "dan"},
		{audience.Spec{JoinedWithin: config.Duration(24 * time.Hour)}, ""},
		{audience.Spec{InvitedBy: "ann"}, "bob"},
		{audience.Spec{InvitedBy: "ann", Tiers: []string{"active"}}, ""},
		{audience.Spec{JoinedBefore: config.Duration(30 * 24 * time.Hour)}, "ann,bob,cat,dan"},
	}
	for _, tc := range tests {
		ids, n, err := audience.Resolve(context.Background(), h.Store, bottest.Group, &tc.spec, tiers, h.Clock.Now(), true)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		if got := strings.Join(ids, ","); got != tc.want || int(n) != len(ids) {
			t.Errorf("%+v: %q (%d), want %q", tc.spec, got, n, tc.want)
		}
	}
}

// A targeted post reaches its audience privately where the platform can,
// else in the group with mentions; /audience previews the count.
func TestTargetedPost(t *testing.T) {
	h := community(t, bot.AllCapabilities)
	h.Advance(24 * time.Hour) // past 20:00
	var to []string
	for _, a := range h.Out.Take() {
		if strings.Contains(a.Text, "辅食小贴士") {
			if a.Type != bot.ActDM {
				t.Fatalf("a targeted post went to the group: %+v", a)
			}
			to = append(to, a.Member.ID)
		}
	}
	slices.Sort(to)
	if strings.Join(to, ",") != "ann,cat" {
		t.Fatalf("post sent to %v, want ann and cat", to)
	}
	h.Say("mod", "/audience tags=辅食 tiers=churned")
	found := false
	for _, a := range h.Out.Take() {
		found = found || strings.Contains(a.Text, "：1 人")
	}
	if !found {
		t.Error("/audience did not count 1")
	}
	h.Say("mod", "/audience tiers=gold")
	for _, a := range h.Out.Take() {
		if !strings.Contains(a.Text, "看不懂") {
			t.Errorf("a bad spec answered %q", a.Text)
		}
	}
}

func TestTargetedPostWithoutDM(t *testing.T) {
	h := community(t, bot.AllCapabilities&^bot.CanDM)
	h.Advance(24 * time.Hour)
	var sent []bot.Action
	for _, a := range h.Out.Take() {
		if strings.Contains(a.Text, "辅食小贴士") {
			sent = append(sent, a)
		}
	}
	if len(sent) != 1 || sent[0].Type != bot.ActSend || !strings.Contains(sent[0].Text, "@ann") || !strings.Contains(sent[0].Text, "@cat") || strings.Contains(sent[0].Text, "@bob") {
		t.Fatalf("mention batch: %+v", sent)
	}
	// named to the platform too, so members without a @username are
	// notified by link
	var named []string
	for _, m := range sent[0].Mentioned {
		named = append(named, m.ID)
	}
	if slices.Sort(named); strings.Join(named, ",") != "ann,cat" {
		t.Errorf("the batch names %v to the platform, want ann and cat", named)
	}
}

// The core tier alone, and active without the core.
func TestCoreTier(t *testing.T) {
	h := community(t, bot.AllCapabilities)
	tiers := wakeup.DefaultTiers()
	tiers.CoreTop, tiers.CoreMin = 1, 0 // dan's 100 points make him the top contributor
	for _, tc := range []struct {
		tiers []string
		want  string
	}{{[]string{"core"}, "dan"}, {[]string{"active"}, "ann"}, {[]string{"core", "silent"}, "bob,dan"}} {
		ids, _, err := audience.Resolve(context.Background(), h.Store, bottest.Group, &audience.Spec{Tiers: tc.tiers}, tiers, h.Clock.Now(), true)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		if got := strings.Join(ids, ","); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.tiers, got, tc.want)
		}
	}
}

// A wake-up stage with an audience reaches only the silent members it
// picks; the others are passed over for that stage.
func TestWakeupStageAudience(t *testing.T) {
	const wconf = `
locale: zh-CN
flows:
  tags:
    rules: [{ keywords: ["辅食"], tag: 辅食 }]
  wakeup:
    stages:
      - { after: 7d, text: "好久不见，辅食专场本周六开始", audience: { tags: [辅食] } }
`
	h := bottest.New(t, []engine.Flow{tags.Flow{}, wakeup.Flow{}}, wconf)
	h.Join("ann")
	h.Join("bob")
	h.Say("ann", "辅食怎么做")
	h.Say("bob", "你好")
	h.Out.Take()
	h.Advance(9 * 24 * time.Hour)
	var to []string
	for _, a := range h.Out.Take() {
		if strings.Contains(a.Text, "辅食专场") {
			to = append(to, a.Member.ID+strings.Join(mentions(a.Text), ""))
		}
	}
	if len(to) != 1 || !strings.HasPrefix(to[0], "ann") {
		t.Fatalf("wake-ups went to %v, want ann alone", to)
	}
}

func mentions(text string) []string {
	var out []string
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, "@") {
			out = append(out, w)
		}
	}
	return out
}

// Tier tags come and go with the tier, kept in step at the wake-up scan.
func TestTierTags(t *testing.T) {
	const tconf = `
locale: zh-CN
flows:
  tags:
    rules: [{ tier: silent, tag: 沉默 }]
  wakeup: { tiers: { silent: 7d, churned: 60d, core_top: 0 } }
`
	h := bottest.New(t, []engine.Flow{tags.Flow{}, wakeup.Flow{}}, tconf)
	h.Join("ann")
	h.Join("bob")
	h.Say("ann", "早")
	h.Say("bob", "早")
	h.Advance(8 * 24 * time.Hour) // both silent at the scans past day 7
	ms, _ := tags.Members(context.Background(), h.Store, bottest.Group, "沉默", h.Clock.Now())
	slices.Sort(ms)
	if strings.Join(ms, ",") != "ann,bob" {
		t.Fatalf("silent tag on %v, want ann and bob", ms)
	}
	h.Say("ann", "我回来了")
	h.Advance(24 * time.Hour)
	ms, _ = tags.Members(context.Background(), h.Store, bottest.Group, "沉默", h.Clock.Now())
	if strings.Join(ms, ",") != "bob" {
		t.Fatalf("after ann spoke: %v, want bob alone", ms)
	}
	if got := tags.Of(h.Fields("bob"), h.Clock.Now()); len(got) != 1 || got[0].Why != "tier silent" {
		t.Errorf("bob's tag %+v", got)
	}
}

// A stage's audience by points and by inviter.
func TestWakeupStageAudienceByPoints(t *testing.T) {
	tests := []struct {
		name, aud, want string
	}{
		{"points", "{ min_points: 10 }", "ann"},
		{"inviter", "{ invited_by: cat }", "bob"},
		{"joined long ago", "{ joined_before: 30d }", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wconf := `
locale: zh-CN
flows:
  checkin: {}
  wakeup:
    stages:
      - { after: 7d, text: "好久不见", audience: ` + tc.aud + ` }
`
			h := bottest.New(t, []engine.Flow{checkin.Flow{}, wakeup.Flow{}}, wconf)
			h.Join("ann")
			h.Join("bob")
			h.Say("ann", "早")
			h.Say("bob", "早")
			checkin.NewLedger(h.Store, bottest.Group, 1000).Award(context.Background(), "ann", 20, "test", h.Clock.Now(), true)
			h.Redis.ZAdd(context.Background(), checkin.InviteesKey(h.Store, bottest.Group, "cat"), redis.Z{Score: 1, Member: "bob"})
			h.Out.Take()
			h.Advance(9 * 24 * time.Hour)
			var to []string
			for _, a := range h.Out.Take() {
				if strings.Contains(a.Text, "好久不见") {
					to = append(to, a.Member.ID)
				}
			}
			if strings.Join(to, ",") != tc.want {
				t.Fatalf("wake-ups to %v, want %q", to, tc.want)
			}
		})
	}
}
