package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/qunbot/qunbot/adapters/adaptertest"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

const (
	corp   = "ww1436e0e65a779aee"
	aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	botID  = "aib-123"
)

// fakeWeCom speaks WeCom's JSON API on loopback.
type fakeWeCom struct {
	t          *testing.T
	srv        *httptest.Server
	mu         sync.Mutex
	tokens     int
	calls      []fakeCall
	expire     bool                        // answer the next call with 42001
	members    []string                    // groupchat/get's member list
	groups     map[string][]map[string]any // chat id → member_list, for groupchat/list and get
	hooks      map[string]int              // webhook key → sends this minute
	aibot      []string                    // bodies posted to response_url
	aibotByURL map[string][]string         // the same, by response_url path
	// fail answers every API call (after the token) this way, until reset
	fail adaptertest.Failure
	// the corp's customer tag library (get_corp_tag_list, add_corp_tag),
	// group name → tag name → id, and the tags marked on customers
	tagLib    map[string]map[string]string
	marked    map[string]map[string]bool // external_userid → tag id
	strangers map[string]bool            // customers who are no one's contact (84061)
	joinWays  map[string]map[string]any  // config_id → add_join_way's body
	// deny answers calls of a path with an errcode (the app lacks the
	// API's permission: 48002), as WeCom does
	deny map[string]int
}

type fakeCall struct {
	Path string
	Body map[string]any
}

func newFake(t *testing.T) *fakeWeCom {
	f := &fakeWeCom{t: t, hooks: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWeCom) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]any
	switch {
	case strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data"):
		// media/upload: the file is the part named "media"
		body = map[string]any{}
		if err := r.ParseMultipartForm(2 << 20); err == nil {
			if fh := r.MultipartForm.File["media"]; len(fh) > 0 {
				body["filename"], body["size"] = fh[0].Filename, float64(fh[0].Size)
			}
		}
	case r.Method == http.MethodPost:
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
	}
	answer := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	if r.URL.Path == "/cgi-bin/gettoken" {
		if r.URL.Query().Get("corpid") != corp || r.URL.Query().Get("corpsecret") == "" {
			answer(map[string]any{"errcode": 40013, "errmsg": "invalid corpid"})
			return
		}
		f.tokens++
		answer(map[string]any{"errcode": 0, "errmsg": "ok", "access_token": fmt.Sprintf("tok-%d", f.tokens), "expires_in": 7200})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/aibot/") {
		b, _ := json.Marshal(body)
		f.aibot = append(f.aibot, string(b))
		if f.aibotByURL == nil {
			f.aibotByURL = map[string][]string{}
		}
		f.aibotByURL[r.URL.Path] = append(f.aibotByURL[r.URL.Path], string(b))
		answer(map[string]any{"errcode": 0, "errmsg": "ok"})
		return
	}
	if r.URL.Path == "/cgi-bin/webhook/send" {
		key := r.URL.Query().Get("key")
		f.hooks[key]++
		f.calls = append(f.calls, fakeCall{r.URL.Path, body})
		if f.hooks[key] > 20 {
			answer(map[string]any{"errcode": 130101, "errmsg": "send to robot too frequently"})
			return
		}
		answer(map[string]any{"errcode": 0, "errmsg": "ok"})
		return
	}
	if !strings.HasPrefix(r.URL.Query().Get("access_token"), "tok-") {
		answer(map[string]any{"errcode": 41001, "errmsg": "access_token missing"})
		return
	}
	if f.expire {
		f.expire = false
		answer(map[string]any{"errcode": 42001, "errmsg": "access_token expired"})
		return
	}
	f.calls = append(f.calls, fakeCall{r.URL.Path, body})
	if code := f.deny[r.URL.Path]; code != 0 {
		answer(map[string]any{"errcode": code, "errmsg": "api forbidden, hint: [1767600000_1_deny], from ip: 127.0.0.1"})
		return
	}
	switch f.fail {
	case adaptertest.RateLimited:
		answer(map[string]any{"errcode": 45009, "errmsg": "api freq out of limit"})
		return
	case adaptertest.ServerError:
		answer(map[string]any{"errcode": -1, "errmsg": "system busy"})
		return
	case adaptertest.Unreachable:
		if r.URL.Path == "/cgi-bin/message/send" {
			answer(map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"]})
			return
		}
	}
	switch r.URL.Path {
	case "/cgi-bin/externalcontact/groupchat/list":
		var list []map[string]any
		for id := range f.groups {
			list = append(list, map[string]any{"chat_id": id, "status": 0})
		}
		sort.Slice(list, func(i, j int) bool { return list[i]["chat_id"].(string) < list[j]["chat_id"].(string) })
		answer(map[string]any{"errcode": 0, "group_chat_list": list})
	case "/cgi-bin/media/upload":
		if r.URL.Query().Get("type") != "image" || body["size"] == nil {
			answer(map[string]any{"errcode": 40004, "errmsg": "invalid media type"})
			return
		}
		answer(map[string]any{"errcode": 0, "errmsg": "ok", "type": "image", "media_id": "media-1", "created_at": "1767600000"})
	case "/cgi-bin/externalcontact/groupchat/get":
		if g, ok := f.groups[fmt.Sprint(body["chat_id"])]; ok {
			answer(map[string]any{"errcode": 0, "group_chat": map[string]any{"chat_id": body["chat_id"], "name": "老客户群", "owner": "owner1",
				"member_list": g, "member_version": "v9"}})
			return
		}
		var list []map[string]any
		for i, m := range f.members {
			state := ""
			if m == "wmA" {
				state = "verified"
			}
			// join_scene: 1 invited by a member, 2 a member's invite link, 3 the group's QR code
			scene := map[string]int{"wmB": 3, "wmC": 2}[m]
			if scene == 0 {
				scene = 1
			}
			list = append(list, map[string]any{"userid": m, "type": 2, "join_time": 1767600000 + i, "join_scene": scene, "state": state})
		}
		answer(map[string]any{"errcode": 0, "group_chat": map[string]any{"chat_id": body["chat_id"], "name": "客户群", "owner": "owner1",
			"member_list": list, "member_version": "v9"}})
	case "/cgi-bin/externalcontact/get_corp_tag_list":
		var groups []map[string]any
		for g, tags := range f.tagLib {
			var ts []map[string]any
			for name, id := range tags {
				ts = append(ts, map[string]any{"id": id, "name": name, "create_time": 1767600000, "order": 0, "deleted": false})
			}
			groups = append(groups, map[string]any{"group_id": "grp-" + g, "group_name": g, "create_time": 1767600000, "order": 0, "deleted": false, "tag": ts})
		}
		answer(map[string]any{"errcode": 0, "errmsg": "ok", "tag_group": groups})
	case "/cgi-bin/externalcontact/add_corp_tag":
		g := fmt.Sprint(body["group_name"])
		if id, ok := body["group_id"].(string); ok && id != "" {
			g = strings.TrimPrefix(id, "grp-")
		}
		if f.tagLib == nil {
			f.tagLib = map[string]map[string]string{}
		}
		if f.tagLib[g] == nil {
			f.tagLib[g] = map[string]string{}
		}
		var made []map[string]any
		for _, t := range body["tag"].([]any) {
			name := fmt.Sprint(t.(map[string]any)["name"])
			if _, dup := f.tagLib[g][name]; dup {
				answer(map[string]any{"errcode": 40071, "errmsg": "UserTag Name Already Exist"})
				return
			}
			id := fmt.Sprintf("et%d", len(f.tagLib[g])+1)
			f.tagLib[g][name] = id
			made = append(made, map[string]any{"id": id, "name": name, "create_time": 1767600000, "order": 0})
		}
		answer(map[string]any{"errcode": 0, "errmsg": "ok", "tag_group": map[string]any{"group_id": "grp-" + g, "group_name": g, "tag": made}})
	case "/cgi-bin/externalcontact/mark_tag":
		ext := fmt.Sprint(body["external_userid"])
		if body["userid"] == nil || body["userid"] == "" || f.strangers[ext] {
			answer(map[string]any{"errcode": 84061, "errmsg": "not external contact"})
			return
		}
		if f.marked == nil {
			f.marked = map[string]map[string]bool{}
		}
		if f.marked[ext] == nil {
			f.marked[ext] = map[string]bool{}
		}
		if add, ok := body["add_tag"].([]any); ok {
			for _, id := range add {
				f.marked[ext][fmt.Sprint(id)] = true
			}
		}
		if rem, ok := body["remove_tag"].([]any); ok {
			for _, id := range rem {
				delete(f.marked[ext], fmt.Sprint(id))
			}
		}
		answer(map[string]any{"errcode": 0, "errmsg": "ok"})
	case "/cgi-bin/externalcontact/groupchat/add_join_way":
		// as the docs (path 92229) have it: scene 1 or 2, one to five
		// groups, a state of at most 30 characters
		chats, _ := body["chat_id_list"].([]any)
		scene, _ := body["scene"].(float64)
		state, _ := body["state"].(string)
		if (scene != 1 && scene != 2) || len(chats) == 0 || len(chats) > 5 || utf8.RuneCountInString(state) > 30 {
			answer(map[string]any{"errcode": 40058, "errmsg": "invalid Request Parameter"})
			return
		}
		if f.joinWays == nil {
			f.joinWays = map[string]map[string]any{}
		}
		id := fmt.Sprintf("9ad7fa5cdaa65112984%02d", len(f.joinWays))
		f.joinWays[id] = body
		answer(map[string]any{"errcode": 0, "errmsg": "ok", "config_id": id})
	case "/cgi-bin/externalcontact/groupchat/get_join_way":
		w, ok := f.joinWays[fmt.Sprint(body["config_id"])]
		if !ok {
			answer(map[string]any{"errcode": 40143, "errmsg": "invalid config_id"})
			return
		}
		answer(map[string]any{"errcode": 0, "errmsg": "ok", "join_way": map[string]any{"config_id": body["config_id"], "scene": w["scene"],
			"remark": w["remark"], "auto_create_room": w["auto_create_room"], "chat_id_list": w["chat_id_list"], "state": w["state"],
			"qr_code": "https://p.qpic.cn/wwhead/" + fmt.Sprint(body["config_id"])}})
	case "/cgi-bin/externalcontact/group_welcome_template/add":
		answer(map[string]any{"errcode": 0, "template_id": "tmpl-1"})
	case "/cgi-bin/externalcontact/group_welcome_template/edit":
		if body["template_id"] != "tmpl-1" {
			answer(map[string]any{"errcode": 41063, "errmsg": "template not found"})
			return
		}
		answer(map[string]any{"errcode": 0})
	case "/cgi-bin/externalcontact/get_groupmsg_task":
		answer(map[string]any{"errcode": 0, "task_list": []map[string]any{{"userid": "owner1", "status": 2, "send_time": 1767600300}}})
	case "/cgi-bin/externalcontact/add_msg_template":
		answer(map[string]any{"errcode": 0, "msgid": "msgTASK1", "fail_list": []string{}})
	case "/cgi-bin/message/send": // the docs' answer carries the message's id
		answer(map[string]any{"errcode": 0, "errmsg": "ok", "msgid": fmt.Sprintf("msg-%d", len(f.calls))})
	default:
		answer(map[string]any{"errcode": 0, "errmsg": "ok"})
	}
}

func (f *fakeWeCom) take() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// sink records events and keeps the member record as the engine would, so
// reconciliation sees who is present.
type sink struct {
	store *state.Store
	mu    sync.Mutex
	evs   []bot.Event
}

func (s *sink) HandleEvent(ctx context.Context, ev bot.Event) error {
	s.mu.Lock()
	s.evs = append(s.evs, ev)
	s.mu.Unlock()
	kind := map[bot.EventKind]state.Kind{bot.EventJoin: state.KindJoin, bot.EventLeave: state.KindLeave, bot.EventMessage: state.KindMessage}[ev.Kind]
	_, _, err := s.store.Ingest(ctx, state.Ingest{Group: ev.Chat.Key, UpdateID: ev.ID, Member: ev.Member.ID, Kind: kind, At: ev.Time})
	return err
}

func (s *sink) take() []bot.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.evs
	s.evs = nil
	return e
}

type env struct {
	a     *Adapter
	fake  *fakeWeCom
	sink  *sink
	store *state.Store
	clock *bot.FakeClock
	mux   *http.ServeMux
	cr    *Crypt
}

func wecomConfig(apiURL string) *Config {
	c := &Config{}
	c.SetDefaults()
	c.CorpID, c.APIURL = corp, apiURL
	cb := func(path string) Callback {
		return Callback{Token: "tok3n", EncodingAESKey: aesKey, Path: path}
	}
	c.App = &App{AgentID: 1000002, Secret: "app-secret", Callback: cb("/wecom/app")}
	c.Contact = &Contact{Secret: "contact-secret", Sender: "staff1", VerifiedState: "verified", Callback: cb("/wecom/contact")}
	c.AIBot = &AIBot{BotID: botID, Callback: cb("/wecom/aibot")}
	c.Webhooks = map[string]config.Secret{"ops": "hook-key"}
	c.Alerts = []string{"admin1"}
	return c
}

// newEnv builds the adapter against a fake WeCom, its routes mounted, not
// yet running.
func newEnv(t *testing.T, prefix ...string) *env {
	t.Helper()
	c, p := redistest.Client(t)
	if len(prefix) > 0 {
		p = prefix[0]
	}
	store := state.New(c, p)
	fake := newFake(t)
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
	return &env{a: a, fake: fake, sink: &sink{store: store}, store: store, clock: clock, mux: mux, cr: cr}
}

// setup is newEnv with the adapter running into a recording sink.
func setup(t *testing.T, prefix ...string) *env {
	t.Helper()
	e := newEnv(t, prefix...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.a.Run(ctx, e.sink)
	return e
}

var nonceSeq int

// callback signs and encrypts a message as WeCom does and sends it.
func (e *env) callback(path, msg, receiveID string, mutate func(q url.Values)) *httptest.ResponseRecorder {
	nonceSeq++
	enc := e.cr.Encrypt([]byte("0123456789abcdef"), []byte(msg), receiveID)
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	nonce := strconv.Itoa(nonceSeq)
	q := url.Values{"msg_signature": {e.cr.Sign(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	var body string
	if path == "/wecom/aibot" {
		b, _ := json.Marshal(map[string]string{"encrypt": enc})
		body = string(b)
	} else {
		body = "<xml><ToUserName><![CDATA[" + corp + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	}
	if mutate != nil {
		mutate(q)
	}
	r := httptest.NewRequest(http.MethodPost, path+"?"+q.Encode(), strings.NewReader(body))
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

// events waits for the queued callbacks to be processed.
func (e *env) events(t *testing.T, n int) []bot.Event {
	t.Helper()
	var got []bot.Event
	deadline := time.Now().Add(3 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		got = append(got, e.sink.take()...)
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	got = append(got, e.sink.take()...)
	return got
}

func TestURLVerification(t *testing.T) {
	e := setup(t)
	enc := e.cr.Encrypt([]byte("0123456789abcdef"), []byte("echo-1288432023552776189"), corp)
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	get := func(sig, ts, nonce, echo string) *httptest.ResponseRecorder {
		q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
		w := httptest.NewRecorder()
		e.mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/wecom/app?"+q.Encode(), nil))
		return w
	}
	if w := get(e.cr.Sign(ts, "n1", enc), ts, "n1", enc); w.Code != 200 || w.Body.String() != "echo-1288432023552776189" {
		t.Fatalf("verification: %d %q", w.Code, w.Body)
	}
	if w := get("0000", ts, "n2", enc); w.Code != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d", w.Code)
	}
}

func TestCallbackRejections(t *testing.T) {
	e := setup(t)
	msg := `<xml><ToUserName>` + corp + `</ToUserName><FromUserName>zhangsan</FromUserName><CreateTime>1767600000</CreateTime><MsgType>text</MsgType><Content>/help</Content><MsgId>1</MsgId></xml>`
	tests := []struct {
		name   string
		rid    string
		mutate func(q url.Values)
		code   int
	}{
		{"forged signature", corp, func(q url.Values) { q.Set("msg_signature", strings.Repeat("a", 40)) }, http.StatusUnauthorized},
		{"stale timestamp", corp, func(q url.Values) {
			// re-signed with an old timestamp: a replay of an old callback
			q.Set("timestamp", "1767500000")
		}, http.StatusUnauthorized},
		{"wrong receive id", "ww-someone-else", nil, http.StatusForbidden},
		{"missing nonce", corp, func(q url.Values) { q.Del("nonce") }, http.StatusBadRequest},
	}
	for _, tt := range tests {
		if w := e.callback("/wecom/app", msg, tt.rid, tt.mutate); w.Code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.name, w.Code, w.Body, tt.code)
		}
	}
	// a stale but correctly signed callback
	e.clock.Advance(10 * time.Minute)
	enc := e.cr.Encrypt([]byte("0123456789abcdef"), []byte(msg), corp)
	old := "1767600000"
	q := url.Values{"msg_signature": {e.cr.Sign(old, "x", enc)}, "timestamp": {old}, "nonce": {"x"}}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wecom/app?"+q.Encode(),
		strings.NewReader("<xml><Encrypt>"+enc+"</Encrypt></xml>")))
	if w.Code != http.StatusForbidden {
		t.Errorf("stale, signed: %d", w.Code)
	}
	// a replayed nonce
	var replay url.Values
	if w := e.callback("/wecom/app", msg, corp, func(q url.Values) { replay = q }); w.Code != 200 {
		t.Fatalf("good callback: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	enc2 := e.cr.Encrypt([]byte("0123456789abcdef"), []byte(msg), corp)
	replay.Set("msg_signature", e.cr.Sign(replay.Get("timestamp"), replay.Get("nonce"), enc2))
	e.mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wecom/app?"+replay.Encode(), strings.NewReader("<xml><Encrypt>"+enc2+"</Encrypt></xml>")))
	if w.Code != http.StatusConflict {
		t.Errorf("replayed nonce: %d", w.Code)
	}
	// too large a body
	w = httptest.NewRecorder()
	e.mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wecom/app?msg_signature=a&timestamp=1&nonce=1", strings.NewReader(strings.Repeat("x", 2<<20))))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("large body: %d", w.Code)
	}
	// only the one good callback was processed
	if evs := e.events(t, 1); len(evs) != 1 || evs[0].Chat.Key != "wecom:@zhangsan" || evs[0].Text != "/help" {
		t.Fatalf("events %+v", evs)
	}
}

func TestCustomerGroupJoinsReconciled(t *testing.T) {
	e := setup(t)
	// qunbot has read this group before (it was empty then)
	if err := e.store.SetGroupFields(context.Background(), "wecom:ext:wrCHAT", map[string]string{"baselined": "1"}); err != nil {
		t.Fatal(err)
	}
	e.fake.members = []string{"wmA", "wmB", "wmC"} // wmC joined, but its callback was lost
	msg := func(detail, ver string, members ...string) string {
		items := ""
		for _, m := range members {
			items += "<Item><![CDATA[" + m + "]]></Item>"
		}
		return `<xml><ToUserName>` + corp + `</ToUserName><FromUserName>sys</FromUserName><CreateTime>1767600000</CreateTime><MsgType>event</MsgType>` +
			`<Event>change_external_chat</Event><ChatId>wrCHAT</ChatId><ChangeType>update</ChangeType><UpdateDetail>` + detail + `</UpdateDetail>` +
			`<JoinScene>1</JoinScene><MemChangeCnt>2</MemChangeCnt><MemChangeList>` + items + `</MemChangeList><LastMemVer>v1</LastMemVer><CurMemVer>` + ver + `</CurMemVer></xml>`
	}
	if w := e.callback("/wecom/contact", msg("add_member", "v2", "wmA", "wmB", "wmA"), corp, nil); w.Code != 200 || w.Body.String() != "success" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	evs := e.events(t, 3)
	var got []string
	for _, ev := range evs {
		got = append(got, string(ev.Kind)+":"+ev.Member.ID)
	}
	if strings.Join(got, " ") != "join:wmA join:wmB join:wmC" {
		t.Fatalf("events %v", got)
	}
	if evs[0].Chat.Key != "wecom:ext:wrCHAT" || evs[0].ID != "ext:wrCHAT:v2:join:wmA" || evs[0].Chat.Title != "客户群" {
		t.Fatalf("event %+v", evs[0])
	}
	// wmA came through the join way marked verified; wmB did not
	if !evs[0].Vouched || evs[1].Vouched {
		t.Fatalf("vouched: %v %v", evs[0].Vouched, evs[1].Vouched)
	}
	// what brought each: the join way's state, else the join scene (the
	// callback's joins and the reconciled one alike)
	if evs[0].Source != "verified" || evs[1].Source != bot.SourceQR || evs[2].Source != bot.SourceLink {
		t.Fatalf("sources: %q %q %q", evs[0].Source, evs[1].Source, evs[2].Source)
	}
	// wmB leaves; the callback says so, and reconciliation agrees
	e.fake.members = []string{"wmA", "wmC"}
	e.callback("/wecom/contact", msg("del_member", "v3", "wmB"), corp, nil)
	evs = e.events(t, 1)
	if len(evs) != 1 || evs[0].Kind != bot.EventLeave || evs[0].Member.ID != "wmB" {
		t.Fatalf("leave events %+v", evs)
	}
	gf, _ := e.store.GroupFields(context.Background(), "wecom:ext:wrCHAT")
	if gf["owner"] != "owner1" {
		t.Fatalf("owner not kept: %v", gf)
	}
}

func TestAIBotMessageAndReply(t *testing.T) {
	e := setup(t)
	body := fmt.Sprintf(`{"msgid":"m1","aibotid":%q,"chatid":"wrGROUP","chattype":"group","from":{"userid":"lisi"},"response_url":%q,"msgtype":"text","text":{"content":"@qunbot 签到"}}`,
		botID, e.fake.srv.URL+"/aibot/response/1")
	if w := e.callback("/wecom/aibot", body, "", nil); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	evs := e.events(t, 1)
	if len(evs) != 1 || evs[0].Text != "签到" || evs[0].Chat.Key != "wecom:bot:wrGROUP" || evs[0].Chat.Type != bot.ChatGroup {
		t.Fatalf("events %+v", evs)
	}
	if _, err := e.a.Do(context.Background(), bot.Action{Type: bot.ActSend, Chat: "wecom:bot:wrGROUP", ReplyTo: "m1", Text: "✅ 签到成功"}); err != nil {
		t.Fatal(err)
	}
	if len(e.fake.aibot) != 1 || !strings.Contains(e.fake.aibot[0], "✅ 签到成功") || !strings.Contains(e.fake.aibot[0], "markdown") {
		t.Fatalf("response_url got %v", e.fake.aibot)
	}
	// the response_url answers once; an answer that cannot go out is told
	// to the staff, not lost without a word
	e.fake.take()
	if _, err := e.a.Do(context.Background(), bot.Action{Type: bot.ActSend, Chat: "wecom:bot:wrGROUP", ReplyTo: "m1", Text: "again"}); err == nil {
		t.Fatal("a second answer to one message went out")
	}
	if calls := e.fake.take(); len(calls) != 1 || calls[0].Path != "/cgi-bin/message/send" || !strings.Contains(fmt.Sprint(calls[0].Body), "again") {
		t.Errorf("staff not told of the lost answer: %+v", calls)
	}
	// a message that answers none has nowhere to go in a group
	if _, err := e.a.Do(context.Background(), bot.Action{Type: bot.ActSend, Chat: "wecom:bot:wrGROUP", Text: "unprompted"}); err == nil {
		t.Fatal("an unprompted message went out")
	}
	// a callback for another bot id is refused
	if w := e.callback("/wecom/aibot", body, "aib-other", nil); w.Code != http.StatusForbidden {
		t.Fatalf("other bot id: %d", w.Code)
	}
}

func TestActions(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if err := e.store.SetGroupFields(ctx, "wecom:ext:wrCHAT", map[string]string{"owner": "owner1"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		act  bot.Action
		path string
		want string // a fragment of the request body
	}{
		{bot.Action{Type: bot.ActSend, Chat: "wecom:app:chat1", Text: "hi"}, "/cgi-bin/appchat/send", `"chatid":"chat1"`},
		{bot.Action{Type: bot.ActKick, Chat: "wecom:app:chat1", Member: bot.Member{ID: "u1"}}, "/cgi-bin/appchat/update", `"del_user_list":["u1"]`},
		{bot.Action{Type: bot.ActSend, Chat: "wecom:hook:ops", Text: "report"}, "/cgi-bin/webhook/send", `"content":"report"`},
		{bot.Action{Type: bot.ActSend, Chat: "wecom:ext:wrCHAT", Text: "本周活动"}, "/cgi-bin/externalcontact/add_msg_template", `"sender":"owner1"`},
		{bot.Action{Type: bot.ActDM, Chat: "wecom:ext:wrCHAT", Member: bot.Member{ID: "zhangsan"}, Text: "alert"}, "/cgi-bin/message/send", `"touser":"zhangsan"`},
		{bot.Action{Type: bot.ActDM, Chat: "wecom:ext:wrCHAT", Member: bot.Member{ID: "wmCUSTOMER"}, Text: "好久不见"}, "/cgi-bin/externalcontact/add_msg_template", `"chat_type":"single"`},
	}
	for _, tt := range tests {
		if _, err := e.a.Do(ctx, tt.act); err != nil {
			t.Fatalf("%s %s: %v", tt.act.Type, tt.act.Chat, err)
		}
		calls := e.fake.take()
		if len(calls) != 1 || calls[0].Path != tt.path {
			t.Fatalf("%s %s: calls %+v", tt.act.Type, tt.act.Chat, calls)
		}
		b, _ := json.Marshal(calls[0].Body)
		if !strings.Contains(string(b), tt.want) {
			t.Errorf("%s: body %s lacks %s", tt.path, b, tt.want)
		}
	}
	// customer-group tasks are kept and read back
	tasks, err := e.a.Tasks(ctx, "wecom:ext:wrCHAT", 10)
	if err != nil || len(tasks) != 1 || tasks[0].ID != "msgTASK1" || !strings.Contains(tasks[0].Status, "sent by owner1") {
		t.Errorf("tasks %+v %v", tasks, err)
	}
	e.fake.take()
	// what WeCom forbids: an error, and the staff under alerts are told
	_, err = e.a.Do(ctx, bot.Action{Type: bot.ActDelete, Chat: "wecom:ext:wrCHAT", MessageID: "1", Member: bot.Member{ID: "wmX"}})
	calls := e.fake.take()
	if err == nil || len(calls) != 1 || calls[0].Path != "/cgi-bin/message/send" || calls[0].Body["touser"] != "admin1" {
		t.Fatalf("delete in a customer group: %v %+v", err, calls)
	}
	// the robot's 20 a minute: the 21st is rate limited
	var rl *bot.RetryAfterError
	for i := 0; i < 21; i++ {
		_, err = e.a.Do(ctx, bot.Action{Type: bot.ActSend, Chat: "wecom:hook:ops", Text: "x"})
	}
	if !errors.As(err, &rl) || rl.After != time.Minute {
		t.Fatalf("21st robot message: %v", err)
	}
}

func TestCapabilities(t *testing.T) {
	e := setup(t)
	tests := map[string]bot.Capability{
		"wecom:ext:wrCHAT": bot.CanSend | bot.CanDM | bot.PostsAreTasks | bot.CanSourceLinks,
		"wecom:app:c1":     bot.CanSend | bot.CanKick,
		"wecom:bot:g1":     bot.CanSend | bot.SeesMessages | bot.CanDM,
		"wecom:hook:ops":   bot.CanSend,
		"wecom:@zhangsan":  bot.CanSend,
		"telegram:-1":      0,
	}
	for chat, want := range tests {
		if got := e.a.Capabilities(chat); got != want {
			t.Errorf("%s: %v, want %v", chat, got, want)
		}
	}
}

// Two replicas share one access token per secret; an expired token is
// fetched again, once.
func TestTokenCachedAcrossInstances(t *testing.T) {
	e := setup(t)
	other, err := New(Options{Config: wecomConfig(e.fake.srv.URL), Store: e.store, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range []*Adapter{e.a, other, e.a} {
		if _, err := a.Do(ctx, bot.Action{Type: bot.ActSend, Chat: "wecom:app:c1", Text: "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Do(ctx, bot.Action{Type: bot.ActSend, Chat: "wecom:ext:wrCHAT", Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if e.fake.tokens != 2 {
		t.Fatalf("%d gettoken calls, want 2 (one per secret)", e.fake.tokens)
	}
	e.fake.expire = true
	if _, err := other.Do(ctx, bot.Action{Type: bot.ActSend, Chat: "wecom:app:c1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if e.fake.tokens != 3 {
		t.Fatalf("%d gettoken calls after an expiry, want 3", e.fake.tokens)
	}
	keys, _ := e.store.Client().Keys(ctx, e.store.GlobalKey("wecom:token:*")).Result()
	for _, k := range keys {
		if strings.Contains(k, "secret") {
			t.Fatalf("a secret in a key name: %s", k)
		}
	}
	if len(keys) != 2 {
		t.Fatalf("token keys %v", keys)
	}
}

func FuzzParseXML(f *testing.F) {
	f.Add(`<xml><MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>c</ChatId><ChangeType>update</ChangeType><UpdateDetail>add_member</UpdateDetail><MemChangeList><Item>a</Item></MemChangeList></xml>`)
	f.Add(`<xml><MsgType>text</MsgType><FromUserName>u</FromUserName><Content>/help</Content></xml>`)
	f.Add(`<xml><`)
	f.Fuzz(func(t *testing.T, s string) {
		evs, _, err := parseXML([]byte(s), time.Unix(0, 0))
		for _, ev := range evs {
			if err != nil || ev.ID == "" || ev.Chat.Key == "" || ev.Member.ID == "" {
				t.Fatalf("event %+v with error %v", ev, err)
			}
		}
	})
}

func FuzzParseAIBot(f *testing.F) {
	f.Add(`{"msgid":"1","chattype":"group","chatid":"c","from":{"userid":"u"},"msgtype":"text","text":{"content":"@bot /points"}}`)
	f.Add(`{"msgid":"1","msgtype":"text","from":{"userid":"u"},"text":{"content":"@"}}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, s string) {
		ev, _, err := parseAIBot([]byte(s), time.Unix(0, 0))
		if err == nil && (ev == nil || ev.ID == "" || ev.Member.ID == "" || ev.Chat.Key == "") {
			t.Fatalf("event %+v", ev)
		}
	})
}

type fakeArchive struct {
	mu   sync.Mutex
	msgs []ArchivedMessage
}

func (f *fakeArchive) Fetch(_ context.Context, seq uint64, limit int) ([]ArchivedMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ArchivedMessage
	for _, m := range f.msgs {
		if m.Seq > seq && len(out) < limit {
			out = append(out, m)
		}
	}
	return out, nil
}

// Archived customer-group text messages become group messages (the ad
// filter and check-in see them); the position survives a restart.
func TestArchive(t *testing.T) {
	c, p := redistest.Client(t)
	store := state.New(c, p)
	arc := &fakeArchive{msgs: []ArchivedMessage{
		{Seq: 1, MsgID: "a1", RoomID: "wrCHAT", From: "wmA", Type: "text", Text: "签到", Time: time.Unix(1767600000, 0)},
		{Seq: 2, MsgID: "a2", From: "wmA", Type: "text", Text: "a private chat"},
		{Seq: 3, MsgID: "a3", RoomID: "wrCHAT", From: "wmB", Type: "image"},
		{Seq: 4, MsgID: "a4", RoomID: "wrCHAT", From: "wmB", Type: "text", Text: "加微信 abc12345"},
		{Seq: 5, MsgID: "a5", RoomID: "wrCHAT", From: "wmB", Type: "revoke"}, // not a message qunbot reads
	}}
	cfg := wecomConfig("http://127.0.0.1:1")
	cfg.Archive = &ArchiveConfig{Interval: config.Duration(20 * time.Millisecond)}
	a, err := New(Options{Config: cfg, Store: store, Clock: bot.NewFakeClock(time.Unix(1767600000, 0)), Archive: arc})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Capabilities("wecom:ext:wrCHAT").Has(bot.SeesMessages) {
		t.Fatal("with the archive, customer groups' messages are seen")
	}
	s := &sink{store: store}
	ctx, cancel := context.WithCancel(context.Background())
	go a.Run(ctx, s)
	deadline := time.Now().Add(3 * time.Second)
	var got []string
	for len(got) < 3 && time.Now().Before(deadline) {
		for _, ev := range s.take() {
			got = append(got, strings.TrimSpace(ev.Chat.Key+" "+ev.Member.ID+" "+string(ev.Media)+" "+ev.Text))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	// an image is a message (locks, activity) of kind photo
	if strings.Join(got, "|") != "wecom:ext:wrCHAT wmA  签到|wecom:ext:wrCHAT wmB photo|wecom:ext:wrCHAT wmB  加微信 abc12345" {
		t.Fatalf("events %q", got)
	}
	if seq, _ := store.Client().Get(context.Background(), store.GlobalKey("wecom", "archive", "seq")).Result(); seq != "5" {
		t.Fatalf("position %q", seq)
	}
	// a restart goes on from there
	arc.mu.Lock()
	arc.msgs = append(arc.msgs, ArchivedMessage{Seq: 6, MsgID: "a6", RoomID: "wrCHAT", From: "wmC", Type: "text", Text: "hi"})
	arc.mu.Unlock()
	store.Client().Del(context.Background(), store.GlobalKey("wecom", "archive", "lease"))
	a2, _ := New(Options{Config: cfg, Store: store, Clock: bot.NewFakeClock(time.Unix(1767600000, 0)), Archive: arc})
	s2 := &sink{store: store}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go a2.Run(ctx2, s2)
	deadline = time.Now().Add(3 * time.Second)
	var evs []bot.Event
	for len(evs) == 0 && time.Now().Before(deadline) {
		evs = s2.take()
		time.Sleep(10 * time.Millisecond)
	}
	if len(evs) != 1 || evs[0].Member.ID != "wmC" {
		t.Fatalf("after restart %+v", evs)
	}
}

func TestArchiveNeedsTheSDKBuild(t *testing.T) {
	c, p := redistest.Client(t)
	cfg := wecomConfig("http://127.0.0.1:1")
	cfg.Archive = &ArchiveConfig{Secret: "s", PrivateKeyFile: "/nonexistent.pem", Interval: config.Duration(time.Second)}
	_, err := New(Options{Config: cfg, Store: state.New(c, p), Clock: bot.NewFakeClock(time.Unix(0, 0))})
	if err == nil || !(strings.Contains(err.Error(), "-tags msgaudit") || strings.Contains(err.Error(), "nonexistent.pem")) {
		t.Fatalf("error %v", err)
	}
}

func TestWelcomeTemplate(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	id, created, err := e.a.SyncWelcomeTemplate(ctx, "欢迎 %NICKNAME%！")
	if err != nil || id != "tmpl-1" || !created {
		t.Fatalf("first sync: %s %v %v", id, created, err)
	}
	calls := e.fake.take()
	if len(calls) != 1 || calls[0].Path != "/cgi-bin/externalcontact/group_welcome_template/add" {
		t.Fatalf("calls %+v", calls)
	}
	id, created, err = e.a.SyncWelcomeTemplate(ctx, "欢迎 %NICKNAME%，请看群规")
	calls = e.fake.take()
	if err != nil || id != "tmpl-1" || created || len(calls) != 1 || !strings.HasSuffix(calls[0].Path, "/edit") {
		t.Fatalf("second sync: %s %v %v %+v", id, created, err, calls)
	}
	// deleted in the console: a new one is made
	e.store.Client().Set(ctx, e.store.GlobalKey("wecom", "welcome_template"), "gone", 0)
	if id, created, err = e.a.SyncWelcomeTemplate(ctx, "x"); err != nil || !created || id != "tmpl-1" {
		t.Fatalf("after deletion: %s %v %v", id, created, err)
	}
}

// A secret WeCom refuses shows in Health (and so on /readyz) at start,
// not at the first post; a good one leaves Health clear.
func TestHealthNamesARefusedSecret(t *testing.T) {
	tests := []struct {
		name, corp, want string
	}{
		{"refused", "wwWRONGCORP", "cannot get an access token for the app secret: wecom gettoken: errcode 40013"},
		{"accepted", corp, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p := redistest.Client(t)
			fake := newFake(t)
			cfg := wecomConfig(fake.srv.URL)
			cfg.CorpID = tt.corp
			a, err := New(Options{Config: cfg, Store: state.New(c, p), Clock: bot.NewFakeClock(time.Unix(1767600000, 0))})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go a.Run(ctx, &sink{store: state.New(c, p)})
			deadline := time.Now().Add(3 * time.Second)
			for {
				fake.mu.Lock()
				fetched := fake.tokens
				fake.mu.Unlock()
				err := a.Health()
				if tt.want != "" && err != nil && strings.Contains(err.Error(), tt.want) {
					return
				}
				if tt.want == "" && fetched >= 2 && err == nil {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("health %v after %d tokens, want %q", err, fetched, tt.want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestMemberCount(t *testing.T) {
	e := newEnv(t)
	e.fake.members = []string{"wmA", "wmB", "wmC"}
	n, err := e.a.MemberCount(context.Background(), "wecom:ext:wrChat1")
	if err != nil || n != 3 {
		t.Fatalf("customer group: %d %v, want 3", n, err)
	}
	if _, err := e.a.MemberCount(context.Background(), "wecom:app:chat1"); !errors.Is(err, bot.ErrUnsupported) {
		t.Fatalf("an app group chat: %v, want ErrUnsupported", err)
	}
}

// A report's chart reaches a staff member as an image message after the
// text: uploaded as temporary media (multipart, part "media"), then sent
// by its media_id.
func TestDMWithPicture(t *testing.T) {
	e := newEnv(t)
	pic := []byte("\x89PNG\r\n\x1a\nnot really, but bytes")
	if _, err := e.a.Do(context.Background(), bot.Action{Type: bot.ActDM, Chat: "wecom:ext:wrCHAT", Member: bot.Member{ID: "zhangsan"}, Text: "weekly", ImagePNG: pic}); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.take()
	var paths []string
	for _, c := range calls {
		paths = append(paths, c.Path)
	}
	if len(calls) != 3 || calls[0].Path != "/cgi-bin/message/send" || calls[1].Path != "/cgi-bin/media/upload" || calls[2].Path != "/cgi-bin/message/send" {
		t.Fatalf("calls %v", paths)
	}
	if calls[1].Body["size"] != float64(len(pic)) || calls[2].Body["msgtype"] != "image" || fmt.Sprint(calls[2].Body["image"]) != "map[media_id:media-1]" {
		t.Fatalf("upload %v, image message %v", calls[1].Body, calls[2].Body)
	}
}

// Tag sync: a tag is made in the configured group once (found again by
// its name afterwards, by this or a restarted adapter), marked through the
// group's owner, removed; a customer who is no one's contact is an error.
func TestTagSync(t *testing.T) {
	e := setup(t)
	e.a.cfg.Contact.TagGroup = "qunbot"
	ctx := context.Background()
	chat := "wecom:ext:wrChatTAG"
	if e.a.Capabilities(chat)&bot.CanTag == 0 {
		t.Fatal("customer groups cannot tag with tag_group set")
	}
	if err := e.store.SetGroupFields(ctx, chat, map[string]string{"owner": "owner1"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []bot.Action{
		{Type: bot.ActTag, Chat: chat, Member: bot.Member{ID: "wmC1"}, Text: "辅食"},
		{Type: bot.ActTag, Chat: chat, Member: bot.Member{ID: "wmC2"}, Text: "辅食"},
		{Type: bot.ActTag, Chat: chat, Member: bot.Member{ID: "wmC1"}, Text: "VIP"},
		{Type: bot.ActUntag, Chat: chat, Member: bot.Member{ID: "wmC1"}, Text: "VIP"},
	} {
		if _, err := e.a.Do(ctx, a); err != nil {
			t.Fatalf("%s %s: %v", a.Type, a.Text, err)
		}
	}
	e.fake.mu.Lock()
	lib := e.fake.tagLib["qunbot"]
	c1, c2 := e.fake.marked["wmC1"], e.fake.marked["wmC2"]
	var adds, marks []string
	for _, c := range e.fake.calls {
		switch c.Path {
		case "/cgi-bin/externalcontact/add_corp_tag":
			adds = append(adds, fmt.Sprint(c.Body["tag"]))
		case "/cgi-bin/externalcontact/mark_tag":
			marks = append(marks, fmt.Sprint(c.Body["userid"]))
		}
	}
	e.fake.mu.Unlock()
	if len(lib) != 2 || len(adds) != 2 {
		t.Fatalf("tag library %v after adds %v, want 辅食 and VIP made once each", lib, adds)
	}
	if !c1[lib["辅食"]] || c1[lib["VIP"]] || !c2[lib["辅食"]] {
		t.Fatalf("marked: wmC1 %v, wmC2 %v", c1, c2)
	}
	for _, by := range marks {
		if by != "owner1" {
			t.Errorf("marked through %q, want the group's owner", by)
		}
	}
	// a restarted adapter finds the tag by name, makes none
	e2 := newEnv(t)
	e2.fake = e.fake
	e2.a.contact.base = e.fake.srv.URL
	e2.a.cfg.Contact.TagGroup = "qunbot"
	if _, err := e2.a.Do(ctx, bot.Action{Type: bot.ActTag, Chat: chat, Member: bot.Member{ID: "wmC3"}, Text: "辅食"}); err != nil {
		t.Fatal(err)
	}
	e.fake.mu.Lock()
	if len(e.fake.tagLib["qunbot"]) != 2 || !e.fake.marked["wmC3"][lib["辅食"]] {
		t.Errorf("after a restart: library %v, wmC3 %v", e.fake.tagLib["qunbot"], e.fake.marked["wmC3"])
	}
	e.fake.strangers = map[string]bool{"wmX": true}
	e.fake.mu.Unlock()
	if _, err := e.a.Do(ctx, bot.Action{Type: bot.ActTag, Chat: chat, Member: bot.Member{ID: "wmX"}, Text: "辅食"}); err == nil {
		t.Error("tagging a customer who is no one's contact did not fail")
	}
	// without tag_group, no sync
	e.a.cfg.Contact.TagGroup = ""
	if e.a.Capabilities(chat)&bot.CanTag != 0 {
		t.Error("CanTag without tag_group")
	}
}

// WeCom takes at most 2048 bytes of text a message (appchat/send,
// message/send, webhook/send): a longer one goes in parts, cut at line
// breaks, none over the limit, together the whole text.
func TestLongTextGoesInParts(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var lines []string
	for i := range 120 {
		lines = append(lines, fmt.Sprintf("%03d 报名：张三 已签到 ✓", i))
	}
	text := strings.Join(lines, "\n") // 120 lines of 33 bytes: about 4,000
	for _, act := range []bot.Action{
		{Type: bot.ActSend, Chat: "wecom:app:chat1", Text: text},
		{Type: bot.ActSend, Chat: "wecom:hook:ops", Text: text},
		{Type: bot.ActDM, Chat: "wecom:ext:wrCHAT", Member: bot.Member{ID: "zhangsan"}, Text: text},
	} {
		res, err := e.a.Do(ctx, act)
		if err != nil {
			t.Fatalf("%s %s: %v", act.Type, act.Chat, err)
		}
		calls := e.fake.take()
		var got []string
		for _, c := range calls {
			content := c.Body["text"].(map[string]any)["content"].(string)
			if len(content) > 2048 || !strings.HasSuffix(content, "\n") && len(got) < len(calls)-1 {
				t.Errorf("%s: a part of %d bytes, cut mid-line", c.Path, len(content))
			}
			got = append(got, content)
		}
		if len(calls) != 2 || strings.Join(got, "") != text {
			t.Errorf("%s %s: %d parts, joined equal %v", act.Type, act.Chat, len(calls), strings.Join(got, "") == text)
		}
		if act.Type == bot.ActDM && len(res.Earlier) != 1 {
			t.Errorf("a DM in parts: result %+v", res)
		}
	}
}

// A post's picture and link buttons have no place in WeCom's text
// messages: they are written out as links, not dropped.
func TestPictureAndLinkButtonsWrittenOut(t *testing.T) {
	e := setup(t)
	act := bot.Action{Type: bot.ActSend, Chat: "wecom:app:chat1", Text: "☀️ 早安", Image: "https://example.com/coffee.jpg",
		Buttons: [][]bot.ButtonSpec{{{Text: "更多技巧", URL: "https://example.com/tips"}, {Text: "签到", Data: "ci:1"}}}}
	if _, err := e.a.Do(context.Background(), act); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.take()
	if len(calls) != 1 {
		t.Fatalf("calls %+v", calls)
	}
	want := "☀️ 早安\nhttps://example.com/coffee.jpg\n更多技巧：https://example.com/tips"
	if got := calls[0].Body["text"].(map[string]any)["content"]; got != want {
		t.Errorf("content %q, want %q", got, want)
	}
}

// A join source's QR code for a customer group is a join way whose state
// is the source's name (add_join_way, then get_join_way for the code),
// for that group alone; other kinds of group have none, and a state WeCom
// would refuse is refused first.
func TestSourceLink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if !e.a.Capabilities("wecom:ext:wrCHAT").Has(bot.CanSourceLinks) || e.a.Capabilities("wecom:app:chat1").Has(bot.CanSourceLinks) {
		t.Fatal("source links: customer groups only")
	}
	e.fake.take()
	qr, err := e.a.SourceLink(ctx, "wecom:ext:wrCHAT", "海报A")
	calls := e.fake.take()
	if err != nil || !strings.HasPrefix(qr, "https://p.qpic.cn/wwhead/") || len(calls) != 2 {
		t.Fatalf("qr %q %v %+v", qr, err, calls)
	}
	add := calls[0].Body
	if calls[0].Path != "/cgi-bin/externalcontact/groupchat/add_join_way" || add["state"] != "海报A" || add["scene"] != float64(2) ||
		fmt.Sprint(add["chat_id_list"]) != "[wrCHAT]" || add["auto_create_room"] != float64(0) {
		t.Errorf("add_join_way %v", add)
	}
	if calls[1].Path != "/cgi-bin/externalcontact/groupchat/get_join_way" {
		t.Errorf("then %s", calls[1].Path)
	}
	if _, err := e.a.SourceLink(ctx, "wecom:app:chat1", "x"); !errors.Is(err, bot.ErrUnsupported) {
		t.Errorf("an app group: %v", err)
	}
	if _, err := e.a.SourceLink(ctx, "wecom:ext:wrCHAT", strings.Repeat("长", 31)); err == nil || len(e.fake.take()) != 0 {
		t.Errorf("a state of 31 characters: %v", err)
	}
	// the CLI's join way: several groups, new ones made when they are full
	qr, id, err := e.a.JoinWay(ctx, JoinWay{State: "海报B", Groups: []string{"wecom:ext:wrA", "wecom:ext:wrB"}, AutoCreate: true, RoomName: "客户群", RoomStart: 3})
	calls = e.fake.take()
	if err != nil || qr == "" || id == "" || len(calls) != 2 {
		t.Fatalf("join way %q %q %v", qr, id, err)
	}
	add = calls[0].Body
	if fmt.Sprint(add["chat_id_list"]) != "[wrA wrB]" || add["auto_create_room"] != float64(1) || add["room_base_name"] != "客户群" || add["room_base_id"] != float64(3) {
		t.Errorf("add_join_way %v", add)
	}
	for _, bad := range []JoinWay{
		{State: "x"},
		{State: "x", Groups: []string{"wecom:ext:1", "wecom:ext:2", "wecom:ext:3", "wecom:ext:4", "wecom:ext:5", "wecom:ext:6"}},
		{State: "x", Groups: []string{"wecom:app:c1"}},
		{State: "x", Groups: []string{"wecom:ext:wrA"}, RoomName: strings.Repeat("群", 41)},
	} {
		if _, _, err := e.a.JoinWay(ctx, bad); err == nil || len(e.fake.take()) != 0 {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
