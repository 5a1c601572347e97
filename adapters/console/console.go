// Package console is a simulated group in the terminal: members join, talk,
// press buttons and leave, a clock moves on command, and the bot's actions
// are printed as readable lines (or JSON). It declares every capability, so
// every flow can be tried here before it meets a real platform.
package console

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
)

// Clock is the simulation's clock.
type Clock interface {
	Now() time.Time
	Set(t time.Time)
}

// Hooks connect the adapter to the engine's side of the simulation.
type Hooks struct {
	// Settle waits until the bot has finished reacting to the last line.
	Settle func(ctx context.Context) error
	// AdvanceTo moves the clock to t, running every job due on the way in
	// time order.
	AdvanceTo func(ctx context.Context, t time.Time) error
}

// Options configure the simulated group.
type Options struct {
	Group    string // chat key, default console:demo
	Title    string
	In       io.Reader
	Out      io.Writer // transcript (or JSON lines)
	Errs     io.Writer // problems with input lines in JSON mode
	JSON     bool
	Echo     bool // repeat each input line, prefixed with "> " (transcripts)
	Clock    Clock
	Location *time.Location
	Hooks    Hooks
}

type simMember struct {
	name       string
	admin      bool
	isBot      bool
	present    bool
	banned     bool
	mutedUntil time.Time
	muted      bool
	textOnly   bool // restricted, but plain text still allowed
	requested  bool
}

type simMessage struct {
	chat    string
	author  string // "" for the bot
	text    string
	buttons [][]bot.ButtonSpec
	deleted bool
}

// Adapter is the console platform.
type Adapter struct {
	opt Options

	mu       sync.Mutex
	members  map[string]*simMember
	messages map[int]*simMessage
	nextMsg  int
	nextEvt  int
	closed   bool        // night mode: only admins may post
	followUp []bot.Event // joins after approval, leaves after kicks
	// advancing is set while `advance` runs, so output carries the time.
	advancing bool
}

// New returns a console adapter.
func New(opt Options) *Adapter {
	if opt.Group == "" {
		opt.Group = "console:demo"
	}
	if opt.Title == "" {
		opt.Title = "Demo group"
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Errs == nil {
		opt.Errs = opt.Out
	}
	return &Adapter{opt: opt, members: map[string]*simMember{}, messages: map[int]*simMessage{}}
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return "console" }

// Capabilities implements bot.Adapter: the console can do everything.
func (a *Adapter) Capabilities(string) bot.Capability { return bot.AllCapabilities }

func (a *Adapter) privateKey(member string) string { return "console:@" + member }

const helpText = `console commands:
  join <name> [bot]          <name> joins the group (add "bot" for a bot account)
  join <name> via <inviter>  <name> joins through <inviter>'s invite link
  join <name> from <source>  <name> joins through the link made for <source> (/sources)
  add <admin> <name> [bot]   <admin> adds <name> to the group
  present <name>             <name> was in the group before the bot (no join event)
  request <name>             <name> asks to join (a join request)
  leave <name>               <name> leaves
  admin <name>               make <name> a group admin
  <name>: <text>             <name> says <text> in the group (/commands too)
  <name> -> #<id>: <text>    <name> replies to message #<id>
  <name>: [photo] <caption>  a message with a photo (also video, sticker, gif,
                             voice, audio, document, poll, contact, location)
  <name>: [forward <from>] <text>  a message forwarded from <from>
  dm <name>: <text>          <name> writes to the bot privately
  click <name> <button>      <name> presses a button on the latest bot message that has it
  advance <duration>         move the clock forward (90s, 10m, 36h, 8d, 1d12h)
  members                    list the simulated members
  help                       this text
  # ...                      a comment`

// Run reads lines until In ends or ctx is done. Lines are read in a
// goroutine of their own, so a cancelled context stops Run even while a
// terminal waits for input.
func (a *Adapter) Run(ctx context.Context, sink bot.EventSink) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(a.opt.In)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
		close(lines)
	}()
	for {
		var line string
		var more bool
		select {
		case <-ctx.Done():
			return nil
		case line, more = <-lines:
		}
		if !more {
			if err := <-readErr; err != nil {
				return fmt.Errorf("read console input: %w", err)
			}
			return nil
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if err := a.handleLine(ctx, sink, line); err != nil {
			return err
		}
		if err := a.settle(ctx, sink); err != nil {
			return err
		}
	}
}

// settle lets the bot finish, then feeds the events the bot's own actions
// caused (an approved request joins, a kicked member leaves), until quiet.
func (a *Adapter) settle(ctx context.Context, sink bot.EventSink) error {
	for i := 0; i < 100; i++ {
		if a.opt.Hooks.Settle != nil {
			if err := a.opt.Hooks.Settle(ctx); err != nil {
				return err
			}
		}
		a.mu.Lock()
		evs := a.followUp
		a.followUp = nil
		a.mu.Unlock()
		if len(evs) == 0 {
			return nil
		}
		for _, ev := range evs {
			a.deliver(ctx, sink, ev)
		}
	}
	return nil
}

func (a *Adapter) problem(format string, args ...any) {
	w := a.opt.Out
	if a.opt.JSON {
		w = a.opt.Errs
	}
	a.mu.Lock()
	fmt.Fprintf(w, "! "+format+"\n", args...)
	a.mu.Unlock()
}

func (a *Adapter) echo(format string, args ...any) {
	if a.opt.Echo && !a.opt.JSON {
		a.printf(format, args...)
	}
}

func (a *Adapter) printf(format string, args ...any) {
	a.mu.Lock()
	fmt.Fprintf(a.opt.Out, format, args...)
	a.mu.Unlock()
}

// deliver hands an event to the engine; a failure is shown, not fatal, so
// an operator sees "Redis went away" and can keep typing.
func (a *Adapter) deliver(ctx context.Context, sink bot.EventSink, ev bot.Event) {
	if err := sink.HandleEvent(ctx, ev); err != nil {
		a.problem("the bot could not process this: %v", err)
		return
	}
	// the console acknowledges each line at once, as a platform would
	// each update: what the update recorded with its done mark (the day's
	// figures) is in Redis before the next line reads it
	if err := bot.Settle(ctx, sink); err != nil {
		a.problem("the bot could not record this: %v", err)
	}
}

func (a *Adapter) member(name string) *simMember {
	m, ok := a.members[name]
	if !ok {
		m = &simMember{name: name}
		a.members[name] = m
	}
	return m
}

func (a *Adapter) event(kind bot.EventKind, m *simMember) bot.Event {
	a.nextEvt++
	return bot.Event{
		ID: "console:" + strconv.Itoa(a.nextEvt), Kind: kind, Platform: "console",
		Chat:   bot.Chat{Key: a.opt.Group, Type: bot.ChatGroup, Title: a.opt.Title},
		Member: bot.Member{ID: m.name, Name: m.name, Username: m.name, IsBot: m.isBot, IsAdmin: m.admin},
		Time:   a.opt.Clock.Now(),
	}
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r == ':' || r == ' ' || r == '#' {
			return false
		}
	}
	return true
}

func (a *Adapter) handleLine(ctx context.Context, sink bot.EventSink, line string) error {
	word, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	who, _, isMessage := strings.Cut(line, ":")
	switch word {
	case "help", "members", "join", "add", "present", "request", "leave", "admin", "advance", "click", "dm":
		isMessage = false
	}
	if !isMessage || strings.HasPrefix(line, "#") || strings.Contains(who, " ") && !strings.Contains(who, "->") {
		a.echo("> %s\n", line)
	}
	if strings.HasPrefix(line, "#") {
		return nil
	}
	switch word {
	case "help":
		if !a.opt.JSON {
			a.printf("%s\n", helpText)
		}
		return nil
	case "members":
		a.listMembers()
		return nil
	case "add":
		admin, rest2, _ := strings.Cut(rest, " ")
		name, flag, _ := strings.Cut(strings.TrimSpace(rest2), " ")
		if !validName(admin) || !validName(name) {
			a.problem("write: add <admin> <name> [bot]")
			return nil
		}
		a.memberCommand(ctx, sink, "join", name, strings.TrimSpace(flag), admin)
		return nil
	case "join", "present", "request", "leave", "admin":
		name, flag, _ := strings.Cut(rest, " ")
		if !validName(name) {
			a.problem("%s needs a member name, e.g. %s alice", word, word)
			return nil
		}
		a.memberCommand(ctx, sink, word, name, strings.TrimSpace(flag), "")
		return nil
	case "advance":
		d, err := config.ParseDuration(rest)
		if err != nil || d <= 0 {
			a.problem("advance needs a duration such as 90s, 10m, 36h or 8d")
			return nil
		}
		target := a.opt.Clock.Now().Add(d)
		if a.opt.Hooks.AdvanceTo != nil {
			a.setAdvancing(true)
			err := a.opt.Hooks.AdvanceTo(ctx, target)
			a.setAdvancing(false)
			if err != nil {
				a.problem("advancing the clock: %v", err)
			}
		} else {
			a.opt.Clock.Set(target)
		}
		if !a.opt.JSON {
			a.printf("-- %s (+%s)\n", a.opt.Clock.Now().In(a.opt.Location).Format("2006-01-02 15:04 Mon"), rest)
		}
		return nil
	case "click":
		name, text, _ := strings.Cut(rest, " ")
		a.click(ctx, sink, name, strings.TrimSpace(text))
		return nil
	case "dm":
		name, text, ok := strings.Cut(rest, ":")
		name = strings.TrimSpace(name)
		if !ok || !validName(name) {
			a.problem("write: dm <name>: <text>")
			return nil
		}
		a.say(ctx, sink, name, strings.TrimSpace(text), 0, true)
		return nil
	}
	who, text, ok := strings.Cut(line, ":")
	if !ok {
		a.problem("unknown console command %q; type help", word)
		return nil
	}
	who = strings.TrimSpace(who)
	replyTo := 0
	if name, ref, isReply := strings.Cut(who, "->"); isReply {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(ref), "#"))
		if err != nil {
			a.problem("a reply is written: <name> -> #<id>: <text>")
			return nil
		}
		who, replyTo = strings.TrimSpace(name), n
	}
	if !validName(who) {
		a.problem("unknown console command %q; type help", word)
		return nil
	}
	a.say(ctx, sink, who, strings.TrimSpace(text), replyTo, false)
	return nil
}

func (a *Adapter) memberCommand(ctx context.Context, sink bot.EventSink, word, name, flag, by string) {
	a.mu.Lock()
	m, known := a.members[name]
	if !known {
		m = &simMember{name: name}
		if word != "leave" {
			a.members[name] = m
		}
	}
	var ev *bot.Event
	var problem string
	if word == "join" || word == "request" {
		switch {
		case m.banned:
			problem = name + " is banned from the group"
		case m.present:
			problem = name + " is already in the group"
		}
	}
	switch {
	case problem != "":
	case word == "join":
		m.present, m.isBot = true, flag == "bot"
		e := a.event(bot.EventJoin, m)
		if inviter, ok := strings.CutPrefix(flag, "via "); ok {
			m.isBot = false
			e.InviteLink, e.Source = inviteLink(strings.TrimSpace(inviter)), bot.SourceInvite
		}
		if source, ok := strings.CutPrefix(flag, "from "); ok {
			m.isBot = false
			e.Source = strings.TrimSpace(source)
		}
		if by != "" {
			adder := a.member(by)
			e.By, e.Source = &bot.Member{ID: by, Name: by, Username: by, IsAdmin: adder.admin}, bot.SourceAdded
		}
		ev = &e
	case word == "request":
		m.requested = true
		e := a.event(bot.EventJoinRequest, m) // in the group's chat, as Telegram sends it
		ev = &e
	case word == "leave" && !m.present:
		problem = name + " is not in the group"
	case word == "leave":
		m.present = false
		e := a.event(bot.EventLeave, m)
		ev = &e
	case word == "admin":
		m.admin = true
	case word == "present":
		m.present = true // in the group before the bot: no join event
	}
	a.mu.Unlock()
	if problem != "" {
		a.problem("%s", problem)
		return
	}
	if word == "admin" && !a.opt.JSON {
		a.printf("-- %s is now a group admin\n", name)
	}
	if word == "present" && !a.opt.JSON {
		a.printf("-- %s was in the group before the bot\n", name)
	}
	if ev != nil {
		a.deliver(ctx, sink, *ev)
	}
}

func (a *Adapter) say(ctx context.Context, sink bot.EventSink, name, text string, replyTo int, private bool) {
	a.mu.Lock()
	m, known := a.members[name]
	var problem string
	var orig *simMessage
	switch {
	case private && !known:
		m = a.member(name)
	case private:
	case !known || !m.present:
		problem = name + " is not in the group; type: join " + name
	case m.muted && !m.textOnly && (m.mutedUntil.IsZero() || a.opt.Clock.Now().Before(m.mutedUntil)):
		problem = name + " is muted; the message is not sent"
	case a.closed && !m.admin:
		problem = "the group is closed; " + name + "'s message is not sent"
	case replyTo > 0:
		if orig = a.messages[replyTo]; orig == nil {
			problem = fmt.Sprintf("there is no message #%d", replyTo)
		}
	}
	if problem != "" {
		a.mu.Unlock()
		switch {
		case private:
		case replyTo > 0:
			a.echo("> %s -> #%d: %s\n", name, replyTo, text)
		default:
			a.echo("> %s: %s\n", name, text)
		}
		a.problem("%s", problem)
		return
	}
	ev := a.event(bot.EventMessage, m)
	ev.Text = text
	ev.Text, ev.Media, ev.Forward = attachment(text)
	if private {
		ev.Chat = bot.Chat{Key: a.privateKey(name), Type: bot.ChatPrivate}
	} else {
		a.nextMsg++
		ev.MessageID = strconv.Itoa(a.nextMsg)
		a.messages[a.nextMsg] = &simMessage{chat: a.opt.Group, author: name, text: text}
		if orig != nil {
			author := bot.Member{ID: orig.author, Name: orig.author, Username: orig.author}
			if om, ok := a.members[orig.author]; ok {
				author.IsAdmin, author.IsBot = om.admin, om.isBot
			}
			ev.ReplyTo = &bot.Reply{MessageID: strconv.Itoa(replyTo), Member: author, Text: orig.text}
		}
	}
	if a.opt.Echo && !a.opt.JSON {
		switch {
		case private:
		case replyTo > 0:
			fmt.Fprintf(a.opt.Out, "> %s #%d ↩ #%d: %s\n", name, a.nextMsg, replyTo, text)
		default:
			fmt.Fprintf(a.opt.Out, "> %s #%d: %s\n", name, a.nextMsg, text)
		}
	}
	a.mu.Unlock()
	a.deliver(ctx, sink, ev)
}

// attachment reads what a console line says a message carries: "[photo]
// caption", "[forward 某频道] text".
func attachment(text string) (string, bot.Media, *bot.Forward) {
	inner, rest, ok := strings.Cut(strings.TrimPrefix(text, "["), "]")
	if !strings.HasPrefix(text, "[") || !ok {
		return text, "", nil
	}
	rest = strings.TrimSpace(rest)
	if from, isFwd := strings.CutPrefix(inner, "forward"); isFwd {
		from = strings.TrimSpace(from)
		return rest, "", &bot.Forward{FromChat: "console:channel:" + from, FromTitle: from}
	}
	switch m := bot.Media(inner); m {
	case bot.MediaPhoto, bot.MediaVideo, bot.MediaSticker, bot.MediaGIF, bot.MediaVoice, bot.MediaAudio, bot.MediaDocument,
		bot.MediaPoll, bot.MediaContact, bot.MediaLocation, bot.MediaGame:
		return rest, m, nil
	}
	return text, "", nil
}

func (a *Adapter) click(ctx context.Context, sink bot.EventSink, name, text string) {
	a.mu.Lock()
	m, ok := a.members[name]
	if !ok || !validName(name) || text == "" {
		a.mu.Unlock()
		a.problem("write: click <member> <button text>, for a member who joined")
		return
	}
	ids := make([]int, 0, len(a.messages))
	for id := range a.messages {
		ids = append(ids, id)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ids)))
	for _, id := range ids {
		msg := a.messages[id]
		if msg.author != "" || msg.deleted {
			continue
		}
		for _, row := range msg.buttons {
			for _, b := range row {
				if strings.EqualFold(b.Text, text) && b.Data != "" {
					ev := a.event(bot.EventButton, m)
					if msg.chat != a.opt.Group {
						ev.Chat = bot.Chat{Key: msg.chat, Type: bot.ChatPrivate}
					}
					ev.Button = &bot.Button{ID: ev.ID, Data: b.Data, MessageID: strconv.Itoa(id)}
					ev.MessageID = strconv.Itoa(id)
					a.mu.Unlock()
					a.deliver(ctx, sink, ev)
					return
				}
			}
		}
	}
	a.mu.Unlock()
	a.problem("no bot message has a button %q", text)
}

func (a *Adapter) listMembers() {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := make([]string, 0, len(a.members))
	for n := range a.members {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := a.members[n]
		tags := []string{}
		for _, t := range []struct {
			on   bool
			name string
		}{{m.admin, "admin"}, {m.isBot, "bot"}, {!m.present, "not in group"}, {m.banned, "banned"}, {m.muted, "muted"}} {
			if t.on {
				tags = append(tags, t.name)
			}
		}
		fmt.Fprintf(a.opt.Out, "-- %s\n", strings.TrimSpace(n+" "+strings.Join(tags, ", ")))
	}
}

// jsonAction is one line of `console --json`.
type jsonAction struct {
	Type      string             `json:"type"`
	Chat      string             `json:"chat"`
	Member    string             `json:"member,omitempty"`
	Text      string             `json:"text,omitempty"`
	Buttons   [][]bot.ButtonSpec `json:"buttons,omitempty"`
	MessageID string             `json:"message_id,omitempty"`
	ReplyTo   string             `json:"reply_to,omitempty"`
	Until     string             `json:"until,omitempty"`
	DeleteIn  string             `json:"delete_after,omitempty"`
	Flow      string             `json:"flow,omitempty"`
	At        string             `json:"at"`
}

// Do implements bot.Adapter: it applies the action to the simulated group
// and prints it.
func (a *Adapter) Do(_ context.Context, act bot.Action) (bot.Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.opt.Clock.Now()
	res := bot.Result{}
	m := a.member(act.Member.ID)
	line := ""
	switch act.Type {
	case bot.ActSend, bot.ActDM:
		a.nextMsg++
		res.MessageID = strconv.Itoa(a.nextMsg)
		private := strings.HasPrefix(act.Chat, "console:@")
		switch {
		case act.Type == bot.ActSend && private:
			a.messages[a.nextMsg] = &simMessage{chat: act.Chat, text: act.Text, buttons: act.Buttons}
			line = fmt.Sprintf("bot → %s (private) #%d", strings.TrimPrefix(act.Chat, "console:@"), a.nextMsg)
		case act.Type == bot.ActSend && act.Chat != a.opt.Group:
			// another chat (a moderators' log chat): say which
			a.messages[a.nextMsg] = &simMessage{chat: act.Chat, text: act.Text, buttons: act.Buttons}
			line = fmt.Sprintf("bot → %s #%d", act.Chat, a.nextMsg)
		case act.Type == bot.ActSend:
			a.messages[a.nextMsg] = &simMessage{chat: act.Chat, text: act.Text, buttons: act.Buttons}
			line = fmt.Sprintf("bot #%d", a.nextMsg)
			if act.ReplyTo != "" {
				line += " ↩ #" + act.ReplyTo
			}
		default:
			res.Chat = a.privateKey(act.Member.ID)
			a.messages[a.nextMsg] = &simMessage{chat: res.Chat, text: act.Text, buttons: act.Buttons}
			line = fmt.Sprintf("bot → %s (private) #%d", act.Member.ID, a.nextMsg)
		}
		line += ": " + strings.ReplaceAll(strings.ReplaceAll(act.Text, "\n", "\n    "), "\n    \n", "\n\n")
		if act.Image != "" {
			line += "\n    [image " + act.Image + "]"
		}
		for _, row := range act.Buttons {
			var bs []string
			for _, b := range row {
				if b.URL != "" {
					bs = append(bs, "["+b.Text+" ↗ "+b.URL+"]")
				} else {
					bs = append(bs, "["+b.Text+"]")
				}
			}
			line += "\n    " + strings.Join(bs, " ")
		}
		if len(act.ImagePNG) > 0 {
			line += "\n    (with a chart: a PNG picture, uploaded where the platform takes one)"
		}
		if act.File != nil {
			line += fmt.Sprintf("\n    [file %s, %d bytes]\n    | %s", act.File.Name, len(act.File.Data),
				strings.ReplaceAll(strings.TrimRight(string(act.File.Data), "\n"), "\n", "\n    | "))
		}
		if act.DeleteAfter > 0 {
			line += fmt.Sprintf("\n    (deletes itself after %s)", config.FormatDuration(act.DeleteAfter))
		}
	case bot.ActDelete:
		id, _ := strconv.Atoi(act.MessageID)
		if msg, ok := a.messages[id]; ok {
			msg.deleted = true
		}
		line = "bot deleted #" + act.MessageID
	case bot.ActRestrict:
		m.muted, m.mutedUntil, m.textOnly = true, act.Until, act.AllowText
		line = "bot muted " + act.Member.ID + a.until(act.Until)
		if act.AllowText {
			line = "bot restricted " + act.Member.ID + " to text" + a.until(act.Until)
		}
	case bot.ActUnrestrict:
		m.muted, m.mutedUntil, m.textOnly = false, time.Time{}, false
		line = "bot unmuted " + act.Member.ID
	case bot.ActKick, bot.ActBan:
		wasIn := m.present
		m.present = false
		line = "bot removed " + act.Member.ID
		if act.Type == bot.ActBan {
			m.banned = true
			line = "bot banned " + act.Member.ID + a.until(act.Until)
		}
		if wasIn {
			a.followUp = append(a.followUp, a.event(bot.EventLeave, m))
		}
	case bot.ActPin:
		line = "bot pinned #" + act.MessageID
	case bot.ActUnpin:
		line = "bot unpinned the latest pinned message"
		if act.MessageID != "" {
			line = "bot unpinned #" + act.MessageID
		}
	case bot.ActCloseChat:
		a.closed = true
		line = "bot closed the group: members cannot post"
	case bot.ActOpenChat:
		a.closed = false
		line = "bot opened the group"
	case bot.ActUnban:
		m.banned = false
		line = "bot unbanned " + act.Member.ID
	case bot.ActApprove:
		if !m.requested {
			return res, fmt.Errorf("approve %s: no pending join request", act.Member.ID)
		}
		m.requested, m.present = false, true
		line = "bot approved " + act.Member.ID + "'s join request"
		a.followUp = append(a.followUp, a.event(bot.EventJoin, m))
	case bot.ActDecline:
		m.requested = false
		line = "bot declined " + act.Member.ID + "'s join request"
	case bot.ActAnswerPress:
		if act.Text == "" {
			return res, nil
		}
		line = "bot → " + act.Member.ID + " (notice): " + act.Text
	default:
		return res, fmt.Errorf("console: unknown action %q: %w", act.Type, bot.ErrUnsupported)
	}
	if a.opt.JSON {
		j := jsonAction{Type: string(act.Type), Chat: act.Chat, Member: act.Member.ID, Text: act.Text,
			Buttons: act.Buttons, MessageID: act.MessageID, ReplyTo: act.ReplyTo, Flow: act.Flow,
			At: now.In(a.opt.Location).Format(time.RFC3339)}
		if act.Type == bot.ActDM {
			j.Chat = res.Chat
		}
		if res.MessageID != "" {
			j.MessageID = res.MessageID
		}
		if !act.Until.IsZero() {
			j.Until = act.Until.In(a.opt.Location).Format(time.RFC3339)
		}
		if act.DeleteAfter > 0 {
			j.DeleteIn = config.FormatDuration(act.DeleteAfter)
		}
		b, err := json.Marshal(j)
		if err != nil {
			return res, fmt.Errorf("console: encode action: %w", err)
		}
		fmt.Fprintf(a.opt.Out, "%s\n", b)
		return res, nil
	}
	if a.advancing {
		// During `advance` the clock jumps from job to job; show when.
		line = "[" + now.In(a.opt.Location).Format("01-02 15:04") + "] " + line
	}
	fmt.Fprintf(a.opt.Out, "%s\n", line)
	return res, nil
}

func (a *Adapter) until(t time.Time) string {
	if t.IsZero() {
		return " (no end)"
	}
	return " until " + t.In(a.opt.Location).Format("2006-01-02 15:04")
}

func (a *Adapter) setAdvancing(on bool) {
	a.mu.Lock()
	a.advancing = on
	a.mu.Unlock()
}

// InviteLink implements bot.InviteLinker: a member's personal link.
func (a *Adapter) InviteLink(_ context.Context, _, memberID, _ string) (string, error) {
	return inviteLink(memberID), nil
}

// inviteLink is a member's personal link: opaque, as Telegram's are
// (https://t.me/+AbCdEf), so an invitee's record of the link it came
// through does not name the inviter.
func inviteLink(member string) string {
	sum := sha256.Sum256([]byte("console invite " + member))
	return "https://console.invalid/+" + base64.RawURLEncoding.EncodeToString(sum[:6])
}

// SourceLink implements bot.SourceLinker: the link of a join source
// (`join <name> from <source>` joins through it).
func (a *Adapter) SourceLink(_ context.Context, _, name string) (string, error) {
	return "https://console.invalid/src/" + url.PathEscape(name), nil
}

// SetHooks connects the adapter to the engine after both exist.
func (a *Adapter) SetHooks(h Hooks) {
	a.mu.Lock()
	a.opt.Hooks = h
	a.mu.Unlock()
}

// IsAdmin implements bot.AdminChecker: members made admins with `admin`.
func (a *Adapter) IsAdmin(_ context.Context, _, member string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.members[member]
	return ok && m.admin, nil
}
