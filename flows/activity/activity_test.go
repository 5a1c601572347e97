package activity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/activity"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/moderation"
	"github.com/qunbot/qunbot/flows/tags"
)

// probe answers /can with what Eligibility says of the member.
type probe struct{ e *activity.Eligibility }

func (probe) Name() string { return "probe" }
func (probe) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &struct{}{} }, DefaultOn: true}
}
func (probe) Commands(string) []engine.CommandSpec { return []engine.CommandSpec{{Name: "can"}} }
func (p probe) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	m, err := fc.Store.Member(ctx, fc.Event.GroupKey(), fc.Event.Member.ID)
	if err != nil {
		return err
	}
	ok, why, err := p.e.Check(ctx, fc, m)
	if ok {
		why = "yes"
	}
	fc.Reply(why)
	return err
}

const yaml = `
locale: en
moderators: ["console:mod"]
flows:
  moderation: {}
  checkin: {levels: [{name: Bronze, points: 0}, {name: Silver, points: 100}]}
`

func TestEligibility(t *testing.T) {
	day := bottest.Start.Format("2006-01-02")
	tests := []struct {
		name   string
		e      activity.Eligibility
		fields map[string]string
		want   string
	}{
		{"anyone", activity.Eligibility{}, nil, "yes"},
		{"level reached", activity.Eligibility{Level: "Silver"}, map[string]string{"pts_earned": "120"}, "yes"},
		{"level not reached", activity.Eligibility{Level: "Silver"}, map[string]string{"pts_earned": "99"}, "level “Silver”"},
		{"unknown level", activity.Eligibility{Level: "Gold"}, nil, "not configured"},
		{"streak", activity.Eligibility{MinStreak: 3}, map[string]string{"ci_streak": "3", "ci_last": day}, "yes"},
		{"streak broken", activity.Eligibility{MinStreak: 3}, map[string]string{"ci_streak": "9", "ci_last": "2025-12-01"}, "3-day"},
		{"tag", activity.Eligibility{Tags: []string{"vip", "member"}}, nil, "one of the tags"},
		{"joined long ago", activity.Eligibility{JoinedBefore: config.Duration(time.Hour)}, nil, "in the group for 1 hour"},
		{"not warned", activity.Eligibility{NotWarned: true}, nil, "live warning"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := bottest.New(t, []engine.Flow{moderation.Flow{}, checkin.Flow{}, probe{&tc.e}}, yaml)
			h.Join("ann")
			if tc.fields != nil {
				if err := h.Store.SetFields(context.Background(), bottest.Group, "ann", tc.fields); err != nil {
					t.Fatal(err)
				}
			}
			if tc.name == "not warned" {
				h.Say("mod", "/warn @ann")
			}
			h.Out.Take()
			h.Say("ann", "/can")
			got := h.Out.Take()
			if len(got) == 0 || !strings.Contains(got[len(got)-1].Text, tc.want) {
				t.Errorf("%+v", got)
			}
		})
	}
	// a tag, and time in the group, make it
	h := bottest.New(t, []engine.Flow{moderation.Flow{}, checkin.Flow{}, probe{&activity.Eligibility{Tags: []string{"vip"}, JoinedBefore: config.Duration(time.Hour)}}}, yaml)
	h.Join("bob")
	if err := tags.Add(context.Background(), h.Store, bottest.Group, "bob", "vip", "test", 0, h.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	h.Clock.Set(h.Clock.Now().Add(2 * time.Hour))
	h.Out.Take()
	h.Say("bob", "/can")
	if got := h.Out.Take(); len(got) != 1 || got[0].Text != "yes" {
		t.Errorf("tagged, in for 2 hours: %+v", got)
	}
}
