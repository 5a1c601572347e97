package answers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
)

// A question lives in Redis under its message: {g}:ans:q:<message>, a
// hash (asker, name, at, text, state open|answered|done, qid), kept 30
// days; open ones are also in {g}:ans:open by time. The qid is a short
// global number, so a moderator's "done" button fits Telegram's 64 bytes
// of callback data whatever the group's key: qb:ans:qid:<qid> names the
// group and message. Times to answer go to {g}:ans:ttr:<day> (seconds),
// for the median.
const questionLife = 30 * 24 * time.Hour

func qKey(s *state.Store, group, msg string) string { return s.Key(group, "ans", "q", msg) }
func openKey(s *state.Store, group string) string   { return s.Key(group, "ans", "open") }
func ttrKey(s *state.Store, group, day string) string {
	return s.Key(group, "ans", "ttr", day)
}

// open records a member's question that nothing answered, and schedules
// its escalation.
func open(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	ev := fc.Event
	if ev.MessageID == "" {
		return nil
	}
	rdb := fc.Store.Client()
	qid, err := rdb.Incr(ctx, fc.Store.GlobalKey("ans", "seq")).Result()
	if err != nil {
		return fmt.Errorf("%w: number a question: %w", state.ErrRedis, err)
	}
	id := strconv.FormatInt(qid, 36)
	k := qKey(fc.Store, ev.GroupKey(), ev.MessageID)
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "asker", ev.Member.ID, "name", ev.Member.Name, "at", fc.Now.UnixMilli(), "text", adfilter.Excerpt(ev.Text, 200), "state", "open", "qid", id)
		p.PExpire(ctx, k, questionLife)
		p.ZAdd(ctx, openKey(fc.Store, ev.GroupKey()), redis.Z{Score: float64(fc.Now.UnixMilli()), Member: ev.MessageID})
		p.Set(ctx, fc.Store.GlobalKey("ans", "qid", id), ev.GroupKey()+"\n"+ev.MessageID, questionLife)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: open a question: %w", state.ErrRedis, err)
	}
	return fc.Schedule(ctx, "ans:q:"+ev.MessageID, "escalate", fc.Now.Add(cfg.Questions.EscalateAfter.D()), map[string]string{"msg": ev.MessageID})
}

// closeScript resolves an open question once: it answers the question's
// time in ms, or 0 when it was not open.
var closeScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'resolved', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
return tonumber(redis.call('HGET', KEYS[1], 'at'))
`)

// resolve closes the question of a message, if it is open: answered by a
// member's reply, or done by a moderator.
func resolve(ctx context.Context, fc *engine.FlowContext, group, msg, how string) error {
	if msg == "" {
		return nil
	}
	at, err := closeScript.Run(ctx, fc.Store.Client(), []string{qKey(fc.Store, group, msg), openKey(fc.Store, group)}, how, fc.Now.UnixMilli(), msg).Int64()
	if err != nil {
		return fmt.Errorf("%w: resolve a question: %w", state.ErrRedis, err)
	}
	if at == 0 {
		return nil
	}
	fc.CountIn(group, kpi.Answered, 1)
	secs := max(0, fc.Now.UnixMilli()-at) / 1000
	gc := fc.GroupConfig(group)
	day := fc.Now.In(gc.Location).Format("2006-01-02")
	k := ttrKey(fc.Store, group, day)
	_, err = fc.Store.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, k, secs)
		p.PExpire(ctx, k, state.KPIKeep)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: record time to answer: %w", state.ErrRedis, err)
	}
	return nil
}

// markDone is a moderator's "done" button on an escalated question.
func markDone(ctx context.Context, fc *engine.FlowContext, qid string) error {
	ref, err := fc.Store.Client().Get(ctx, fc.Store.GlobalKey("ans", "qid", qid)).Result()
	if errors.Is(err, redis.Nil) {
		fc.Do(bot.Action{Type: bot.ActAnswerPress, CallbackID: fc.Event.Button.ID, Text: words.T(fc.Locale(), "done.gone")})
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: read a question: %w", state.ErrRedis, err)
	}
	group, msg, _ := cut(ref)
	gc := fc.GroupConfig(group)
	m := fc.Event.Member
	if !m.IsAdmin && !gc.IsModerator(fc.Event.Platform+":"+m.ID) && !gc.IsModerator(m.ID) {
		fc.Do(bot.Action{Type: bot.ActAnswerPress, CallbackID: fc.Event.Button.ID, Text: words.T(fc.Locale(), "done.notmod")})
		return nil
	}
	if err := resolve(ctx, fc, group, msg, "done"); err != nil {
		return err
	}
	fc.Do(bot.Action{Type: bot.ActAnswerPress, CallbackID: fc.Event.Button.ID, Text: words.T(fc.Locale(), "done.ok")})
	return nil
}

func cut(ref string) (group, msg string, ok bool) {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '\n' {
			return ref[:i], ref[i+1:], true
		}
	}
	return ref, "", false
}

// HandleTimer implements engine.TimerHandler: a question's escalation.
func (Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	if fc.Event.Timer.Kind != "escalate" {
		return nil
	}
	group, msg := fc.Event.GroupKey(), fc.Event.Timer.Args["msg"]
	kv, err := fc.Store.Client().HGetAll(ctx, qKey(fc.Store, group, msg)).Result()
	if err != nil {
		return fmt.Errorf("%w: read a question: %w", state.ErrRedis, err)
	}
	if kv["state"] != "open" || kv["escalated"] != "" {
		return nil
	}
	if ok, err := fc.Store.Client().HSetNX(ctx, qKey(fc.Store, group, msg), "escalated", fc.Now.UnixMilli()).Result(); err != nil || !ok {
		return err
	}
	fc.Count(kpi.Escalated, 1)
	loc := fc.Locale()
	ms, _ := strconv.ParseInt(kv["at"], 10, 64)
	asked := time.UnixMilli(ms).In(fc.Group.Location).Format("01-02 15:04")
	text := words.T(loc, "escalate", kv["name"], kv["asker"], asked, kv["text"], group)
	row := []bot.ButtonSpec{{Text: words.T(loc, "done.button"), Data: "ans:done:" + kv["qid"]}}
	if link := render.MessageLink(group, msg); link != "" {
		text += "\n" + link
		row = append(row, bot.ButtonSpec{Text: words.T(loc, "open.button"), URL: link})
	}
	fc.TellModeratorsWith(bot.Action{Text: text, Buttons: [][]bot.ButtonSpec{row}})
	return nil
}

// Figures are a group's question figures over days: asked, answered at
// once by an auto-reply, answered or done later, escalated, and the
// median time to answer (the answers of those days).
type Figures struct {
	Asked, Auto, Answered, Escalated int64
	Median                           time.Duration
	Samples                          int
}

// Rate is the share of questions resolved (auto or later), 0 without
// questions.
func (f Figures) Rate() float64 {
	if f.Asked == 0 {
		return 0
	}
	return float64(f.Auto+f.Answered) / float64(f.Asked)
}

// Read sums days' figures (kpi days of the group) and reads the times to
// answer of those days for the median.
func Read(ctx context.Context, s *state.Store, group string, days []kpi.Day) (Figures, error) {
	var f Figures
	var secs []int64
	for _, d := range days {
		f.Asked += d.Values[string(kpi.Questions)]
		f.Auto += d.Values[string(kpi.AutoAnswered)]
		f.Answered += d.Values[string(kpi.Answered)]
		f.Escalated += d.Values[string(kpi.Escalated)]
		vs, err := s.Client().LRange(ctx, ttrKey(s, group, d.Date), 0, -1).Result()
		if err != nil {
			return f, fmt.Errorf("%w: read times to answer: %w", state.ErrRedis, err)
		}
		for _, v := range vs {
			n, _ := strconv.ParseInt(v, 10, 64)
			secs = append(secs, n)
		}
	}
	if len(secs) > 0 {
		slices.Sort(secs)
		f.Median, f.Samples = time.Duration(secs[len(secs)/2])*time.Second, len(secs)
	}
	return f, nil
}
