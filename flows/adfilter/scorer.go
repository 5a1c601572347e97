package adfilter

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/qunbot/qunbot/bot"
)

// Scorer scores a message against a group's rules. It is safe for
// concurrent use. Its compiled part — the keyword automaton and the
// classifier — is shared by every group whose rules compile alike (see
// Cache); the settings are the group's own.
type Scorer struct {
	cfg *Config
	*compiled
	names nameMemo
}

// nameMemo keeps the scores of the names this scorer read: a member's
// name rarely changes while they post, and reading it costs about 1 µs a
// message, a tenth of the decision. It forgets everything past
// maxNameMemo names, so a raid of fresh names cannot grow it.
type nameMemo struct {
	mu sync.Mutex
	m  map[[2]string]nameScore
}

type nameScore struct {
	score float64
	hits  string
}

const maxNameMemo = 10000

// NameScore is NameVerdict's score and hits (nameHits), remembered.
func (s *Scorer) NameScore(m bot.Member) (float64, string) {
	k := [2]string{m.Name, m.Username}
	if m.Name == m.ID {
		k[0] = ""
	}
	s.names.mu.Lock()
	ns, ok := s.names.m[k]
	s.names.mu.Unlock()
	if ok {
		return ns.score, ns.hits
	}
	v := s.NameVerdict(m)
	ns = nameScore{v.Score, nameHits(&v)}
	s.names.mu.Lock()
	if s.names.m == nil || len(s.names.m) >= maxNameMemo {
		s.names.m = make(map[[2]string]nameScore)
	}
	s.names.m[k] = ns
	s.names.mu.Unlock()
	return ns.score, ns.hits
}

// compiled is what identical rules share: built once per distinct set of
// keyword lists, contact prefixes, rule settings and classifier files.
type compiled struct {
	matcher *Matcher
	pats    []patInfo
	base    *Model // the classifier trained on the sample files (nil: none)
	shared  sharedModel
	pool    sync.Pool
}

type patKind uint8

const (
	kindKeyword patKind = iota
	kindWeChat          // a WeChat contact prefix: an id must follow
	kindQQ              // a QQ prefix: a number must follow
	kindJiaWei          // 加微 in homophones: an id follows or precedes
	kindJiaKou          // 加扣 in homophones: a number follows or precedes
	kindKou             // a lone 扣 homophone: a long number follows or precedes
)

type patInfo struct {
	kind  patKind
	word  string // as configured
	score float64
}

// contact prefixes, matched like keywords; what follows decides.
// Homophones (薇/威/喂/徽 for 微), a bare v or 薇 before an id, and pinyin
// are how ads write them when the plain words are filtered.
var wechatPrefixes = []string{"vx", "wx", "v", "v信", "微信", "威信", "薇信", "维信", "徽信", "喂信", "卫星", "薇", "嶶", "威",
	"weixin", "wei xin", "jia wei xin", "wechat", "加v", "加微", "微信号", "vx号", "wx号", "v号", "wxid"}

// jiaWei is 加微 ("add on WeChat") with either character or both written
// as a homophone (佳喂, 伽徽, 家威, 加薇): nothing else is written so, and
// ads put the id on either side of it (`佳喂：sx111505`, `CAD644伽威`,
// `YW90069家喂`). The plain 加微 and 加v are wechatPrefixes: an id before
// them is as often a model number ("iphone15加微信群").
var jiaWei = homophonePairs("微薇嶶威喂维韦徽巍葳v", "加微", "加v")

// jia are 加 and its homophones in ads.
const jia = "加佳家嘉伽笳珈迦枷"

// homophonePairs are jia's characters each followed by each of seconds,
// but the pairs except.
func homophonePairs(seconds string, except ...string) []string {
	var out []string
	for _, j := range jia {
		for _, w := range seconds {
			if p := string([]rune{j, w}); !slices.Contains(except, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// jiaKou is 加扣 ("add on QQ", 扣 for 扣扣) the same way (家口, 佳抠, 嘉扣,
// 伽扣: `家口 61444 4232`, `27447053 伽扣`), and kou a lone homophone of
// 扣 before or after a number of at least 8 digits, as QQ numbers are
// now (`扣2687650849`, `2952700242+蔻`); a lone 口 is too common a
// character for that.
var (
	jiaKou = homophonePairs("扣口抠蔻蔲寇叩")
	kou    = []string{"扣", "抠", "蔻", "蔲", "寇", "叩"}
)

// a lone kou needs a number this long
const kouMinDigits = 8

var qqPrefixes = []string{"qq", "扣扣", "抠抠", "口口", "企鹅", "乞鹅", "q号", "qq号", "kou kou", "群号", "q群", "qq群"}

// Input is what the scorer looks at.
type Input struct {
	Text    string
	Links   []string // links the platform reported (visible ones and text links)
	Hidden  []string // links behind text (text_link)
	Forward *bot.Forward
	// External is where the message this one replies to lives, when that
	// is another chat (bot.Event.External).
	External *bot.Forward
	// Mentions of names that are not members of the group (@channels).
	UnknownMentions int
	Newcomer        bool
	// RepeatMinLength > 0 asks for Verdict.TextKey: the normalised text
	// hashed, if at least this many characters long (repeat detection).
	RepeatMinLength int
	// Name: the text is a member's name, where a one-letter contact prefix
	// is a name ("张威 199508", "小薇 202406"), not a WeChat handle.
	Name bool
}

// Hit is one rule that fired.
type Hit struct {
	Rule   string  // keyword, regex, link, contact, forward, reply, flood, newcomer, classifier
	Detail string  // which keyword, domain, ...
	Score  float64 // what it added
}

// maxHits bounds the hits a verdict records (the score counts them all).
const maxHits = 8

// Verdict is a message's score and the rules that fired.
type Verdict struct {
	Score     float64
	Threshold float64
	// P is the classifier's P(spam), or -1 when no classifier scored.
	P float64
	// Sure is the P(spam) from which the classifier decided alone for
	// this message (learned or configured; short messages' own).
	Sure    float64
	TextKey string // see Input.RepeatMinLength
	hits    [maxHits]Hit
	n       int
}

// Spam reports whether the score reached the threshold.
func (v *Verdict) Spam() bool { return v.Score >= v.Threshold }

// Hits returns the rules that fired, in the order they were found.
func (v *Verdict) Hits() []Hit { return v.hits[:v.n] }

// Add records a hit.
func (v *Verdict) Add(rule, detail string, score float64) {
	if score == 0 {
		return
	}
	v.Score += score
	for i := 0; i < v.n; i++ {
		if v.hits[i].Rule == rule && v.hits[i].Detail == detail {
			v.hits[i].Score += score
			return
		}
	}
	if v.n < maxHits {
		v.hits[v.n] = Hit{rule, detail, score}
		v.n++
	}
}

// Summary writes the hits as "keyword 加微信 (+1.0), link bit.ly (+0.6)".
func (v *Verdict) Summary() string {
	var b strings.Builder
	for i, h := range v.Hits() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s (%+.2g)", h.Rule, h.Detail, h.Score)
	}
	if v.P >= 0 {
		fmt.Fprintf(&b, "; P(spam) %.2f", v.P)
		if v.Sure > 0 && v.Sure < 1 {
			fmt.Fprintf(&b, ", alone from %.2f", v.Sure)
		}
	}
	return b.String()
}

// Compile builds a config's scorer: the keyword automaton (keyword files
// read now) and the classifier's sample files.
func Compile(c *Config) (*Scorer, error) {
	s := &Scorer{cfg: c, compiled: &compiled{}}
	s.pool.New = func() any { return new(scratch) }
	var n Normalizer
	var words []Pattern
	seen := map[string]bool{} // kind and form: a word listed twice counts once
	// a keyword that is also a contact prefix matches where the prefix
	// does, glued to an id ("vx12345")
	prefixes := map[string]bool{}
	for _, w := range slices.Concat(wechatPrefixes, jiaWei, qqPrefixes, jiaKou, kou) {
		prefixes[string(n.Normalize(w))] = true
	}
	put := func(form []rune, w string, kind patKind, score float64) {
		if k := string(rune('0'+kind)) + string(form); !seen[k] {
			seen[k] = true
			words = append(words, Pattern{Runes: form, Prefix: kind != kindKeyword || prefixes[string(form)]})
			s.pats = append(s.pats, patInfo{kind: kind, word: w, score: score})
		}
	}
	add := func(w string, kind patKind, score float64) {
		form := append([]rune(nil), n.Normalize(w)...)
		if len(form) == 0 {
			return
		}
		put(form, w, kind, score)
		// "h/o/t/ /s/i/n/g/l/e/s" loses its space along with the
		// separators: a phrase also matches written solid
		if solid := removeSpaces(form); len(solid) != len(form) {
			put(solid, w, kind, score)
		}
	}
	for _, k := range c.Keywords {
		for _, w := range k.Words {
			add(w, kindKeyword, k.Score)
		}
		if k.File != "" {
			err := readLines(string(k.File), func(line string) error {
				w, score, err := parseWord(line, k.Score)
				if err == nil {
					add(w, kindKeyword, score)
				}
				return err
			}, func(line string) bool { return strings.HasPrefix(line, "#") })
			if err != nil {
				return nil, err
			}
		}
	}
	if c.Contacts.WeChat > 0 {
		for _, w := range wechatPrefixes {
			add(w, kindWeChat, c.Contacts.WeChat)
		}
		for _, w := range jiaWei {
			add(w, kindJiaWei, c.Contacts.WeChat)
		}
	}
	if c.Contacts.QQ > 0 {
		for _, w := range qqPrefixes {
			add(w, kindQQ, c.Contacts.QQ)
		}
		for _, w := range jiaKou {
			add(w, kindJiaKou, c.Contacts.QQ)
		}
		for _, w := range kou {
			add(w, kindKou, c.Contacts.QQ)
		}
	}
	s.matcher = NewMatcher(words)
	if cl := c.Classifier; cl != nil {
		var spam, ham []string
		for _, set := range []struct {
			files []string
			out   *[]string
		}{{paths(cl.Spam), &spam}, {paths(cl.Ham), &ham}} {
			for _, f := range set.files {
				texts, err := ReadSamples(f)
				if err != nil {
					return nil, err
				}
				*set.out = append(*set.out, texts...)
			}
		}
		if len(spam) > 0 && len(ham) > 0 {
			s.base = s.Train(spam, ham)
		}
		if cl.File != "" {
			f, err := os.Open(string(cl.File))
			if err != nil {
				return nil, fmt.Errorf("classifier model: %w", err)
			}
			m, err := ReadModel(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("classifier model %s: %w", cl.File, err)
			}
			s.base = m
		}
	}
	return s, nil
}

// MatchKey is TextKey of the message's match form (what repeats are
// counted by), or "" when the form is shorter than minLen runes.
func (s *Scorer) MatchKey(text string, minLen int) string {
	return s.key(text, minLen, nil)
}

// key is TextKey of the match form (through form, if given), or "" when
// the match form is shorter than minLen runes.
func (s *Scorer) key(text string, minLen int, form func([]rune) []rune) string {
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	t := sc.n.Normalize(text)
	if len(t) < minLen {
		return ""
	}
	if form != nil {
		t = form(t)
	}
	return TextKey(t)
}

// WaveKey is the key a message's template is counted by across groups:
// TextKey of its match form with each id or number (a run of Latin
// letters and digits that holds a digit) read as one placeholder, so
// "兼职日结300 加v abc123" and "兼职日结500 加v xyz789" are one template.
// It is "" when the form is shorter than minLen runes.
func (s *Scorer) WaveKey(text string, minLen int) string {
	return s.key(text, minLen, template)
}

// template replaces each run of Latin letters and digits holding a digit
// with '#' (runs apart by spaces with one) and drops the spaces: where a
// copy puts its spaces is the cheapest change.
func template(t []rune) []rune {
	out := make([]rune, 0, len(t))
	alnum := func(r rune) bool { return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' }
	for i := 0; i < len(t); {
		if !alnum(t[i]) {
			if t[i] != ' ' {
				out = append(out, t[i])
			}
			i++
			continue
		}
		j, digit := i, false
		for ; j < len(t) && alnum(t[j]); j++ {
			digit = digit || t[j] <= '9'
		}
		if digit {
			if n := len(out); n == 0 || out[n-1] != '#' { // "138 1234 5678" is one number
				out = append(out, '#')
			}
		} else {
			out = append(out, t[i:j]...)
		}
		i = j
	}
	return out
}

// NameVerdict scores a member's display name and username, each alone
// (a username glued to a name would make "小薇" and "xiaowei2019" a
// contact), by the rules: keywords, contacts, links and regexes — not the
// model, which learned messages, nor anything about a message. The
// higher of the two is the name's verdict. A name that is the member's id
// is not read.
func (s *Scorer) NameVerdict(m bot.Member) Verdict {
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	var best Verdict
	for i, text := range []string{m.Name, m.Username} {
		// an adapter that knows no name gives the id ("wmXyz…" on WeCom):
		// not a name the member chose
		if strings.TrimSpace(text) == "" || text == m.ID {
			continue
		}
		v, _ := s.rules(sc, Input{Text: text, Name: true}, false)
		if i == 0 || v.Score > best.Score {
			best = v
		}
	}
	if best.Threshold == 0 {
		best = Verdict{Threshold: s.cfg.Threshold, P: -1}
	}
	return best
}

// scratch is one scoring's buffers, pooled.
type scratch struct {
	n     Normalizer
	feats []uint32
	hits  []uint32
	seen  featSet
	sig   minHash // the last message's signature, computed with its features
}

// Train fits the classifier to labelled messages with this scorer's rules
// (their hits are features) and learns from them when it is sure (see
// calibrate). It is deterministic: the same messages give the same model.
func (s *Scorer) Train(spam, ham []string) *Model {
	samples := make([]sample, 0, len(spam)+len(ham))
	sc := new(scratch)
	for _, set := range []struct {
		texts []string
		spam  bool
	}{{spam, true}, {ham, false}} {
		for _, t := range set.texts {
			_, text, f := s.features(sc, Input{Text: t}, true)
			samples = append(samples, sample{f: append([]uint32(nil), f...), spam: set.spam, short: len(text) < shortMessage})
		}
	}
	m := trainLinear(samples, trainEpochs, 1)
	m.sure = s.calibrate(samples)
	m.known = &similar{}
	for _, t := range spam {
		m.known.add(sc.n.Normalize(t))
	}
	return m
}

const (
	trainEpochs = 6
	// shortMessage: match forms shorter than this are short messages,
	// which are most of a chat's ham and carry little evidence, so the
	// model's certainty is judged apart for them
	shortMessage = 12
	calFolds     = 4
)

// calibrate finds the lowest P(spam) from which the model may decide
// alone: trained on all but a quarter of the samples, four times, it
// scores the held-out quarter, and the threshold is where no more than
// classifier.max_false_positives in 1,000 held-out ham messages would be
// removed (short ones, which need half the doubt, counted as such). A
// fixed threshold cannot do this: how sure a model gets depends on the
// data (the highest-scored ordinary messages of cn-chat reach 0.9, those
// of cn-sms 0.5). With too few samples to measure a share, the default
// stands.
func (s *Scorer) calibrate(samples []sample) float64 {
	cl := s.cfg.Classifier
	if cl == nil || cl.Sure != 0 || len(samples) < 4*minSure {
		return defaultSure
	}
	// each held-out ham's P, raised to what it would take at the long
	// messages' threshold: P' = 1 - 2(1-P) for short ones
	var ham []float64
	for f := range calFolds {
		train := make([]sample, 0, len(samples))
		for i, x := range samples {
			if i%calFolds != f {
				train = append(train, x)
			}
		}
		m := trainLinear(train, trainEpochs, uint64(f)+2)
		for i := f; i < len(samples); i += calFolds {
			if x := samples[i]; !x.spam {
				p := m.prob(x.f)
				if x.short {
					p = 1 - 2*(1-p)
				}
				ham = append(ham, p)
			}
		}
	}
	if len(ham) < 2*minSure {
		return defaultSure
	}
	slices.Sort(ham)
	allowed := int(cl.MaxFalsePositives / 1000 * float64(len(ham)))
	// just above the highest ham message not allowed through
	t := math.Nextafter(ham[len(ham)-1-allowed], 2)
	return min(max(t, minSureP), maxSureP)
}

// the learned threshold stays within these: below 0.6 the model is
// guessing whatever the data say; above 0.995 it would never decide
const (
	defaultSure = 0.85
	minSureP    = 0.6
	maxSureP    = 0.995
)

// features computes a message's model features (rules' hits included).
// learned: keywords count half (see rules). It answers the rules'
// verdict and the match form with the features.
func (s *Scorer) features(sc *scratch, in Input, learned bool) (Verdict, []rune, []uint32) {
	v, text := s.rules(sc, in, learned)
	sc.feats = sc.seen.unique(s.allFeatures(sc, in, text, v))
	return v, text, sc.feats
}

// allFeatures is linFeatures of a message whose rules ran, repeats kept.
func (s *Scorer) allFeatures(sc *scratch, in Input, text []rune, v Verdict) []uint32 {
	sc.hits = sc.hits[:0]
	for _, h := range v.Hits() {
		sc.hits = append(sc.hits, hitHash(h.Rule, h.Detail))
	}
	return linFeatures(sc.feats[:0], in.Text, sc.n.Shape(), text, sc.hits, &sc.sig)
}

func paths[T ~string](ps []T) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// Score scores a message. model is the classifier to use (the sample
// files' with the moderators' reports); nil uses the sample files' alone.
//
// With a classifier, keywords count half their score (they are also the
// model's features, with learned weights), and the model adds its say: the
// threshold itself when it is sure (P(spam) ≥ classifier.sure; short
// messages, under 12 characters, need a quarter of the doubt), otherwise
// up to ±classifier.weight as it leans — so a confident model removes spam
// alone, and a keyword in an ordinary message the model reads as ordinary
// does not.
func (s *Scorer) Score(in Input, model *Model) Verdict {
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	cl := s.cfg.Classifier
	if model == nil {
		model = s.base
	}
	if cl == nil || model == nil {
		v, _ := s.rules(sc, in, false)
		return v
	}
	// keywords count half beside a model that may decide alone
	v, text := s.rules(sc, in, model.trained >= minSure)
	sc.feats = s.allFeatures(sc, in, text, v)
	// the features' repeats dropped as their weights are added: 3% faster
	// than dropping them first (in-process A/B)
	p := model.probOnce(sc.feats, &sc.seen)
	v.P = p
	sure := model.sure // learned in training
	if cl.Sure != 0 {
		sure = cl.Sure
	}
	if len(text) < shortMessage {
		sure = 1 - (1-sure)/2 // short messages need half the doubt
	}
	if model.trained >= minSure {
		v.Sure = sure
	}
	if cl.Sure < 1 && p >= sure && model.trained >= minSure {
		v.Add("classifier", "sure", v.Threshold)
	} else {
		v.Add("classifier", "leaning", cl.Weight*(2*p-1))
	}
	if sig, ok := sc.sig.sum(); ok && model.known.matchSig(&sig) {
		v.Add("similar", "known spam", v.Threshold)
	}
	return v
}

// minSure is how many messages of each kind a model must have learned
// from before it may remove a message alone: trained on a handful, a
// linear model is sure of things it has barely seen.
const minSure = 50

// rules scores a message by the rules alone; it returns the match form.
// learned: a trained classifier scores too (keywords count half).
func (s *Scorer) rules(sc *scratch, in Input, learned bool) (Verdict, []rune) {
	c := s.cfg
	v := Verdict{Threshold: c.Threshold, P: -1}
	if in.Newcomer && c.Newcomer.Threshold > 0 {
		v.Threshold = c.Newcomer.Threshold
	}
	text := sc.n.Normalize(in.Text)
	if in.RepeatMinLength > 0 && len(text) >= in.RepeatMinLength {
		v.TextKey = TextKey(text)
	}
	kw := 1.0
	if learned {
		kw = 0.5
	}

	// keywords and contact prefixes, one pass; a contact counts once
	// however many of its prefixes lead to it ("加v" and "v")
	wechat, qq, wxHint := false, false, false
	s.matcher.Match(text, func(id, end int) bool {
		p := &s.pats[id]
		switch p.kind {
		case kindKeyword:
			v.Add("keyword", p.word, p.score*kw)
		case kindWeChat:
			// a WeChat word anywhere, for an id elsewhere (idAnywhere);
			// a bare v or 威 is in too many words and names to hint
			wxHint = wxHint || p.word != "v" && p.word != "威"
			if !wechat && !(in.Name && utf8.RuneCountInString(p.word) == 1) && idAfter(text, end, false) {
				wechat = true
				v.Add("contact", "wechat", p.score)
			}
		case kindJiaWei:
			wxHint = true
			// not in a name: 嘉威, 佳薇 and 家维 are given names
			start := end - utf8.RuneCountInString(p.word)
			if !wechat && !in.Name && (idAfter(text, end, false) || idBefore(text, start, false) > 0) {
				wechat = true
				v.Add("contact", "wechat", p.score)
			}
		case kindQQ:
			if !qq && idAfter(text, end, true) {
				qq = true
				v.Add("contact", "qq", p.score)
			}
		case kindJiaKou, kindKou:
			least := 5
			if p.kind == kindKou {
				least = kouMinDigits
			}
			start := end - utf8.RuneCountInString(p.word)
			if !qq && !in.Name && (qqLen(text, end) >= least || idBefore(text, start, true) >= least) {
				qq = true
				v.Add("contact", "qq", p.score)
			}
		}
		return true
	})
	if !wechat && wxHint && !in.Name && idAnywhere(text) {
		wechat = true
		v.Add("contact", "wechat", c.Contacts.WeChat)
	}
	if !qq && c.Contacts.QQ > 0 && !in.Name && qqByHint(in.Text, text) {
		qq = true
		v.Add("contact", "qq", c.Contacts.QQ)
	}
	if c.Contacts.Phone > 0 && hasPhone(in.Text, text) {
		v.Add("contact", "phone", c.Contacts.Phone)
	}
	for i := range c.Regexes {
		r := &c.Regexes[i]
		if r.Pattern.MatchString(in.Text) {
			v.Add("regex", r.Name, r.Score)
		}
	}
	s.links(in, &v)
	if f := in.Forward; f != nil {
		from, score := c.forwardScore(f)
		v.Add("forward", from, score)
		if in.Newcomer {
			v.Add("newcomer", "forward", c.Newcomer.Forwards)
		}
	}
	if f := in.External; f != nil {
		// a reply to another chat's post shows that post in the group, as
		// a forward does; a newcomer's counts as a newcomer's forward
		from, score := c.forwardScore(f)
		v.Add("reply", "to a "+from+"'s post", score)
		if in.Newcomer && in.Forward == nil {
			v.Add("newcomer", "reply to another chat", c.Newcomer.Forwards)
		}
	}
	if in.UnknownMentions > 0 {
		v.Add("link", "@mention of a non-member", c.Links.Channels)
	}
	return v, text
}

// forwardScore is what content from elsewhere adds, by where it came
// from: a channel or group, or a user.
func (c *Config) forwardScore(f *bot.Forward) (from string, score float64) {
	switch {
	case f.FromChat != "" && strings.Contains(f.FromChat, ":-100") || f.FromChat != "" && f.FromUser == "" && f.Name == "":
		return "channel or group", max(c.Forwards.Channel, c.Forwards.Group)
	case f.FromChat != "":
		return "group", c.Forwards.Group
	}
	return "user", c.Forwards.User
}

// idAfter reports whether a contact id follows a prefix ending at end.
// After at most one space comes a token of letters and digits. It may go
// on after one more separator when its first part is short and has no
// digits ("abc_12345" becomes "abc 12345" in the match form), and across
// groups of digits ("2048 7832 11"). A WeChat id is 5 to 20 long with at
// least one digit (so "wechat group" is not one); a QQ number is 5 to 11
// digits.
func idAfter(text []rune, end int, qq bool) bool {
	i := end
	if i < len(text) && text[i] == ' ' {
		i++
	}
	n, letters, digits := 0, 0, 0
	for part := 0; part < 4; part++ {
		start, partDigits := n, 0
		for ; i < len(text) && text[i] < 0x80 && isWordASCII(text[i]); i++ {
			n++
			if isLetterASCII(text[i]) {
				letters++
			} else {
				digits++
				partDigits++
			}
		}
		if n == start || i+1 >= len(text) || text[i] != ' ' {
			break
		}
		shortWord := !qq && digits == 0 && n-start <= 6
		digitGroup := partDigits == n-start && isDigitASCII(text[i+1])
		if !shortWord && !digitGroup {
			break
		}
		i++ // one separator inside the id
	}
	if qq {
		return n >= 5 && n <= 11 && letters == 0
	}
	return n >= 5 && n <= 20 && digits > 0
}

// qqByHint reports a QQ number written apart from its prefix: a number
// of 8 to 11 digits (in groups or not) anywhere in a message that hints
// at QQ anywhere — a rare homophone of 扣 (抠, 蔻, 蔲, 寇, 叩, 筘, 冦), 企鹅
// or 乞鹅, a lone q (or one glued to the number), or 口 or 扣 standing
// alone rather than in a word (口味, 扣款), though after 家, 加 and their
// homophones: `2787 9947 美腿+口`, `8695 33334看逼家 口`,
// `涩→聊加Q287354710`. The number is read in the match form, the hint in
// the message as written, whose separators ("+口") the match form drops
// between Chinese characters. On cn-chat this caught 308 spam the other
// rules missed, for no ordinary message there or in the other sets but
// two that are ads (`Q，群号，，753485420`, `75+275+36+36+企+鹅+白`) — a
// figure from the data the rule was read from, so it flatters.
func qqByHint(raw string, text []rune) bool {
	long, digits := false, 0
	for i, r := range text {
		switch {
		case isDigitASCII(r):
			digits++
			continue
		case r == ' ' && digits > 0 && i+1 < len(text) && isDigitASCII(text[i+1]):
			continue // a group separator inside a number
		}
		long = long || digits >= 8 && digits <= 11
		digits = 0
	}
	if !long && !(digits >= 8 && digits <= 11) {
		return false
	}
	var prev rune
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRuneInString(raw[i:]) // invalid UTF-8: a byte at a time
		rest := raw[i+size:]
		next, _ := utf8.DecodeRuneInString(rest)
		switch r {
		case '抠', '蔻', '蔲', '寇', '叩', '筘', '冦':
			return true
		case '鹅':
			if p := lastHan(raw[:i]); p == '企' || p == '乞' {
				return true
			}
		case 'q', 'Q', 'ｑ', 'Ｑ': // alone, or glued to the number (not "Q3")
			if !unicode.IsLetter(prev) || isHan(prev) {
				n := 0
				for n < len(rest) && isDigitASCII(rune(rest[n])) {
					n++
				}
				if n == 0 && !unicode.IsLetter(next) || n >= 8 && n <= 11 {
					return true
				}
			}
		case '口', '扣':
			alone := !isHan(prev) || strings.ContainsRune(jia, prev)
			if alone && (!isHan(next) || next == '口' || next == '扣') {
				return true
			}
		}
		prev = r
		i += size
	}
	return false
}

// idAnywhere reports a WeChat-like id anywhere in a message: a run of 5
// to 20 Latin letters and digits with at least one letter and four
// digits (`w2753636`), for a message that names WeChat elsewhere
// (`秀 w2753636 麦饼卫星`: 卫星, "satellite", is 微信's homophone). Pure
// numbers are left to the QQ and phone rules. On cn-chat: 42 spam more
// than the other rules, no ordinary message in any set (read from
// cn-chat's spam, so the first figure flatters).
func idAnywhere(text []rune) bool {
	n, letters, digits := 0, 0, 0
	for i := 0; i <= len(text); i++ {
		if i < len(text) && text[i] < 0x80 && isWordASCII(text[i]) {
			n++
			if isDigitASCII(text[i]) {
				digits++
			} else {
				letters++
			}
			continue
		}
		if n >= 5 && n <= 20 && letters > 0 && digits >= 4 {
			return true
		}
		n, letters, digits = 0, 0, 0
	}
	return false
}

// lastHan is the last Chinese character of s, separators skipped ("企+鹅").
func lastHan(s string) rune {
	for len(s) > 0 {
		r, n := utf8.DecodeLastRuneInString(s)
		if isHan(r) {
			return r
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return 0
		}
		s = s[:len(s)-n]
	}
	return 0
}

// idBefore is the length of the contact id that ends right before start,
// or one space before it, or 0: a WeChat id (5 to 20 letters and digits,
// at least one a digit) or, for qq, a QQ number (5 to 11 digits).
func idBefore(text []rune, start int, qq bool) int {
	i := start
	if i > 0 && text[i-1] == ' ' {
		i--
	}
	n, digits := 0, 0
	for ; i > 0 && text[i-1] < 0x80 && isWordASCII(text[i-1]); i-- {
		n++
		if isDigitASCII(text[i-1]) {
			digits++
		}
	}
	switch {
	case qq && n >= 5 && n <= 11 && digits == n, !qq && n >= 5 && n <= 20 && digits > 0:
		return n
	}
	return 0
}

// qqLen is the length of the QQ number that follows a prefix ending at
// end (see idAfter), or 0.
func qqLen(text []rune, end int) int {
	if !idAfter(text, end, true) {
		return 0
	}
	n := 0
	for i := end; i < len(text) && n <= 11; i++ {
		switch {
		case isDigitASCII(text[i]):
			n++
		case text[i] != ' ':
			return n
		}
	}
	return n
}

func removeSpaces(rs []rune) []rune {
	out := make([]rune, 0, len(rs))
	for _, r := range rs {
		if r != ' ' {
			out = append(out, r)
		}
	}
	return out
}

// Config is the settings the scorer was compiled from.
func (s *Scorer) Config() *Config { return s.cfg }
