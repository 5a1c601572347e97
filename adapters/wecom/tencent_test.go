package wecom

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"github.com/qunbot/qunbot/bot"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// tencentSigner builds callbacks the way Tencent's WXBizMsgCrypt does,
// written here from the published algorithm and not from the adapter's
// code: msg_signature = SHA1 of token, timestamp, nonce and ciphertext
// sorted and joined; the ciphertext is AES-256-CBC (key = the base64 of
// EncodingAESKey + "=", IV = its first 16 bytes) over 16 random bytes, the
// message length as 4 big-endian bytes, the message and the receive id,
// padded PKCS#7 to 32 bytes, in base64.
type tencentSigner struct {
	token, aesKey string
}

func (s tencentSigner) encrypt(msg, receiveID string) string {
	key, err := base64.StdEncoding.DecodeString(s.aesKey + "=")
	if err != nil {
		panic(err)
	}
	var plain bytes.Buffer
	plain.WriteString("ABCDEFGHIJKLMNOP") // the 16 random bytes
	_ = binary.Write(&plain, binary.BigEndian, uint32(len(msg)))
	plain.WriteString(msg)
	plain.WriteString(receiveID)
	pad := 32 - plain.Len()%32
	plain.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, _ := aes.NewCipher(key)
	out := make([]byte, plain.Len())
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain.Bytes())
	return base64.StdEncoding.EncodeToString(out)
}

func (s tencentSigner) sign(ts, nonce, enc string) string {
	parts := []string{s.token, ts, nonce, enc}
	sort.Strings(parts)
	h := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(h[:])
}

// tencentPost sends a callback signed and encrypted by Tencent's
// algorithm, with the given nonce, to the env's mux: the AI bot's as JSON
// (empty receive id), the others as XML (the corp id).
func (e *env) tencentPost(path, msg, nonce string) *httptest.ResponseRecorder {
	s := tencentSigner{token: "tok3n", aesKey: aesKey}
	receiveID := corp
	if path == "/wecom/aibot" {
		receiveID = ""
	}
	enc := s.encrypt(msg, receiveID)
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	q := url.Values{"msg_signature": {s.sign(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	body := "<xml><ToUserName><![CDATA[" + corp + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	if path == "/wecom/aibot" {
		b, _ := json.Marshal(map[string]string{"encrypt": enc})
		body = string(b)
	}
	r := httptest.NewRequest(http.MethodPost, path+"?"+q.Encode(), strings.NewReader(body))
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

func (e *env) tencentAIBot(body, nonce string) *httptest.ResponseRecorder {
	return e.tencentPost("/wecom/aibot", body, nonce)
}

func (e *env) tencentContact(msg, nonce string) *httptest.ResponseRecorder {
	return e.tencentPost("/wecom/contact", msg, nonce)
}

// Ten members write 签到 in one group at once: each answer goes to the
// response_url of the message it answers, none is lost.
func TestAIBotBurstAnswersEachOnItsOwnURL(t *testing.T) {
	e := setup(t)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"msgid":"burst` + strconv.Itoa(i) + `","aibotid":"` + botID + `","chatid":"wrGROUP","chattype":"group","from":{"userid":"u` +
				strconv.Itoa(i) + `"},"response_url":"` + e.fake.srv.URL + `/aibot/response/` + strconv.Itoa(i) + `","msgtype":"text","text":{"content":"@qunbot 签到"}}`
			if w := e.tencentAIBot(body, "burst-"+strconv.Itoa(i)); w.Code != 200 {
				t.Errorf("callback %d: %d %s", i, w.Code, w.Body)
			}
		}()
	}
	wg.Wait()
	evs := e.events(t, 10)
	if len(evs) != 10 {
		t.Fatalf("%d events", len(evs))
	}
	for _, ev := range evs {
		// the engine answers each message as a reply to it
		if _, err := e.a.Do(t.Context(), botAction(ev)); err != nil {
			t.Errorf("answer to %s: %v", ev.MessageID, err)
		}
	}
	e.fake.mu.Lock()
	defer e.fake.mu.Unlock()
	for i := range 10 {
		got := e.fake.aibotByURL["/aibot/response/"+strconv.Itoa(i)]
		if len(got) != 1 || !strings.Contains(got[0], "u"+strconv.Itoa(i)+" ") {
			t.Errorf("response_url %d got %q, want the answer to u%d", i, got, i)
		}
	}
}

// A callback that could not be stored (Redis failing) is answered 503;
// WeCom's identical retry must then be accepted, while a replay of a
// stored one is still refused.
func TestRetryOfAnUnstoredCallbackIsAccepted(t *testing.T) {
	e := setup(t)
	body := `{"msgid":"r1","aibotid":"` + botID + `","chatid":"wrGROUP","chattype":"group","from":{"userid":"lisi"},"response_url":"` +
		e.fake.srv.URL + `/aibot/response/r1","msgtype":"text","text":{"content":"@qunbot 签到"}}`
	fail := &failScripts{}
	e.store.Client().AddHook(fail)
	fail.on.Store(true)
	if w := e.tencentAIBot(body, "retry-1"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("while storing fails: %d %s", w.Code, w.Body)
	}
	fail.on.Store(false)
	if w := e.tencentAIBot(body, "retry-1"); w.Code != 200 {
		t.Fatalf("the retry: %d %s", w.Code, w.Body)
	}
	if w := e.tencentAIBot(body, "retry-1"); w.Code != http.StatusConflict {
		t.Fatalf("a replay of the stored callback: %d %s", w.Code, w.Body)
	}
	if evs := e.events(t, 1); len(evs) != 1 {
		t.Fatalf("%d events, want the callback once", len(evs))
	}
}

// botAction is the answer the engine gives a message: a reply to it.
func botAction(ev bot.Event) bot.Action {
	return bot.Action{Type: bot.ActSend, Chat: ev.Chat.Key, ReplyTo: ev.MessageID, Member: ev.Member, Text: ev.Member.ID + " ✅ 签到成功"}
}

// failScripts makes Redis scripts fail while on: storing a callback
// fails, as when Redis goes away between the checks and the store.
type failScripts struct{ on atomic.Bool }

func (f *failScripts) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f *failScripts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.on.Load() && (cmd.Name() == "evalsha" || cmd.Name() == "eval") {
			err := errors.New("injected: Redis is failing")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}
func (f *failScripts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// oldGroup is a customer group of 50: its owner and two more staff, 46
// customers who joined long ago, and one who joins now (at joinedNow).
func oldGroup(joinedNow int64) []map[string]any {
	list := []map[string]any{
		{"userid": "owner1", "type": 1, "join_time": 1700000000, "name": "群主"},
		{"userid": "staff2", "type": 1, "join_time": 1700000100, "name": "客服"},
		{"userid": "staff3", "type": 1, "join_time": 1700000200, "name": "店长"},
	}
	for i := range 46 {
		list = append(list, map[string]any{"userid": "wmOld" + strconv.Itoa(i), "type": 2, "join_time": 1700001000 + i, "name": "老客户" + strconv.Itoa(i)})
	}
	return append(list, map[string]any{"userid": "wmNew", "type": 2, "join_time": joinedNow, "name": "新客户"})
}

// changeXML is a change_external_chat callback as WeCom sends it.
func changeXML(chat, change, detail string, at int64, members ...string) string {
	items := ""
	for _, m := range members {
		items += "<Item><![CDATA[" + m + "]]></Item>"
	}
	return `<xml><ToUserName><![CDATA[` + corp + `]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>` + strconv.FormatInt(at, 10) +
		`</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[` + chat +
		`]]></ChatId><ChangeType><![CDATA[` + change + `]]></ChangeType><UpdateDetail><![CDATA[` + detail + `]]></UpdateDetail><JoinScene>1</JoinScene>` +
		`<MemChangeCnt>` + strconv.Itoa(len(members)) + `</MemChangeCnt><MemChangeList>` + items + `</MemChangeList></xml>`
}

// The first callback qunbot sees for a group of 50 that already exists
// raises exactly one join — the member it adds — with the member's name;
// the owner, the staff and the long-standing customers are taken in as
// present, and a later reconciliation raises nothing for them either.
func TestFirstCallbackOfAnExistingGroup(t *testing.T) {
	e := setup(t)
	now := e.clock.Now().Unix()
	e.fake.groups = map[string][]map[string]any{"wrOLD": oldGroup(now - 5)}
	if w := e.tencentContact(changeXML("wrOLD", "update", "add_member", now, "wmNew"), "first-1"); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	evs := e.events(t, 2)
	if len(evs) != 1 || evs[0].Kind != bot.EventJoin || evs[0].Member.ID != "wmNew" || evs[0].Member.Name != "新客户" {
		t.Fatalf("events %+v, want one join of wmNew by name", evs)
	}
	present, _ := e.store.Present(context.Background(), "wecom:ext:wrOLD")
	if present != 50 { // 49 taken in, and the newcomer by its join
		t.Errorf("present = %d, want 50", present)
	}
	m, _ := e.store.Member(context.Background(), "wecom:ext:wrOLD", "wmOld3")
	if m.Joins != 0 || !m.JoinedAt.Equal(time.Unix(1700001003, 0)) {
		t.Errorf("a long-standing member: joins %d, joined %v", m.Joins, m.JoinedAt)
	}
	// the next change: one leaves; nobody old is greeted
	e.fake.groups["wrOLD"] = oldGroup(now - 5)[:48]
	e.tencentContact(changeXML("wrOLD", "update", "del_member", now+60, "wmNew"), "first-2")
	for _, ev := range e.events(t, 1) {
		if ev.Kind == bot.EventJoin {
			t.Errorf("a join after the group was taken in: %+v", ev)
		}
	}
}

// A group created just now: its owner and first members are no newcomers.
func TestCreatedGroupGreetsNobody(t *testing.T) {
	e := setup(t)
	now := e.clock.Now().Unix()
	e.fake.groups = map[string][]map[string]any{"wrNEW": {
		{"userid": "owner1", "type": 1, "join_time": now, "name": "群主"},
		{"userid": "wmFirst", "type": 2, "join_time": now, "name": "第一位"},
	}}
	e.tencentContact(changeXML("wrNEW", "create", "", now), "create-1")
	if evs := e.events(t, 1); len(evs) != 0 {
		t.Fatalf("events on creation: %+v", evs)
	}
}

// qunbot wecom sync takes in every customer group without events.
func TestSyncTakesInGroups(t *testing.T) {
	e := newEnv(t)
	e.fake.groups = map[string][]map[string]any{"wrA": oldGroup(1700009999), "wrB": oldGroup(1700009999)[:10]}
	groups, members, err := e.a.Sync(context.Background())
	if err != nil || groups != 2 || members != 60 {
		t.Fatalf("sync: %d groups, %d members, %v", groups, members, err)
	}
	if n, _ := e.store.Present(context.Background(), "wecom:ext:wrA"); n != 50 {
		t.Errorf("wrA present %d", n)
	}
	// run again: nothing new
	if _, members, _ := e.a.Sync(context.Background()); members != 0 {
		t.Errorf("a second sync recorded %d", members)
	}
	// and the next callback of a synced group greets only its newcomer
	e.fake.groups["wrB"] = append(oldGroup(1700009999)[:10], map[string]any{"userid": "wmLate", "type": 2, "join_time": e.clock.Now().Unix(), "name": "晚到"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.a.Run(ctx, e.sink)
	e.tencentContact(changeXML("wrB", "update", "add_member", e.clock.Now().Unix(), "wmLate"), "sync-1")
	if evs := e.events(t, 1); len(evs) != 1 || evs[0].Member.ID != "wmLate" {
		t.Fatalf("events %+v", evs)
	}
}
