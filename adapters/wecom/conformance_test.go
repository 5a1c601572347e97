package wecom

import (
	"net/http"
	"testing"
	"time"

	"github.com/qunbot/qunbot/adapters/adaptertest"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

// WeCom against the fake WeCom API and callbacks signed and encrypted as
// WeCom does, in a customer group (posts are tasks; no delete, restrict,
// kick or ban: those are refused as unsupported after the staff are
// alerted). A redelivery is WeCom sending the same change_external_chat
// again, which it does when qunbot answers late.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) *adaptertest.Harness {
		c, p := redistest.Client(t)
		store := state.New(c, p)
		fake := newFake(t)
		fake.members = []string{"wmA"}
		clock := bot.NewFakeClock(time.Unix(1767600000, 0))
		a, err := New(Options{Config: wecomConfig(fake.srv.URL), Store: store, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		for pattern, h := range a.Routes() {
			mux.Handle(pattern, h)
		}
		cr, _ := NewCrypt("tok3n", aesKey)
		e := &env{a: a, fake: fake, store: store, clock: clock, mux: mux, cr: cr}
		return &adaptertest.Harness{
			Platform: Platform(), Adapter: a, Group: "wecom:ext:wrCHAT", Member: bot.Member{ID: "zhangsan", Name: "张三"},
			Deliver: func(t testing.TB, n int) {
				msg := `<xml><ToUserName>` + corp + `</ToUserName><FromUserName>sys</FromUserName><CreateTime>1767600000</CreateTime>` +
					`<MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>wrCHAT</ChatId><ChangeType>update</ChangeType>` +
					`<UpdateDetail>add_member</UpdateDetail><JoinScene>1</JoinScene><MemChangeCnt>1</MemChangeCnt>` +
					`<MemChangeList><Item>wmA</Item></MemChangeList><LastMemVer>v1</LastMemVer><CurMemVer>v9</CurMemVer></xml>`
				if w := e.callback("/wecom/contact", msg, corp, nil); w.Code != http.StatusOK {
					t.Fatalf("callback answered %d %s", w.Code, w.Body)
				}
			},
			Fail: func(f adaptertest.Failure) {
				fake.mu.Lock()
				fake.fail = f
				fake.mu.Unlock()
			},
		}
	})
}
