package wecom

import (
	"net/http"
	"testing"

	"github.com/qunbot/qunbot/adapters/adaptertest"
	"github.com/qunbot/qunbot/bot"
)

// WeCom against the fake WeCom API and callbacks signed and encrypted as
// WeCom does, in a customer group (posts are tasks; no delete, restrict,
// kick or ban: those are refused as unsupported after the staff are
// alerted). A redelivery is WeCom sending the same change_external_chat
// again, which it does when qunbot answers late.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) *adaptertest.Harness {
		e := newEnv(t)
		e.fake.members = []string{"wmA"}
		fake, a := e.fake, e.a
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
