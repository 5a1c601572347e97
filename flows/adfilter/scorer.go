package adfilter

import (
	"fmt"
	"strings"
	"sync"

	"github.com/qunbot/qunbot/bot"
)

// Scorer scores a message against a group's rules. It is compiled once per
// config load and safe for concurrent use.
type Scorer struct {
	cfg     *Config
	matcher *Matcher
	pats    []patInfo
	base    *Model // the classifier trained on the sample files
	shared  sharedModel
	pool    sync.Pool
}

type patKind uint8

const (
	kindKeyword patKind = iota
	kindWeChat          // a WeChat contact prefix: an id must follow
	kindQQ              // a QQ prefix: a number must follow
)

type patInfo struct {
	kind  patKind
	word  string // as configured
	score float64
}

// contact prefixes, matched like keywords; what follows decides.
var wechatPrefixes = []string{"vx", "wx", "v信", "微信", "威信", "薇信", "维信", "徽信", "卫星", "weixin", "wechat", "加v", "加微", "微信号", "vx号", "wx号", "v号", "wxid"}
var qqPrefixes = []string{"qq", "扣扣", "企鹅", "q号", "qq号"}

// Input is what the scorer looks at.
type Input struct {
	Text    string
	Links   []string // links the platform reported (visible ones and text links)
	Hidden  []string // links behind text (text_link)
	Forward *bot.Forward
	// Mentions of names that are not members of the group (@channels).
	UnknownMentions int
	Newcomer        bool
	// RepeatMinLength > 0 asks for Verdict.TextKey: the normalised text
	// hashed, if at least this many characters long (repeat detection).
	RepeatMinLength int
}

// Hit is one rule that fired.
type Hit struct {
	Rule   string  // keyword, regex, link, contact, forward, flood, newcomer, classifier
	Detail string  // which keyword, domain, ...
	Score  float64 // what it added
}

// maxHits bounds the hits a verdict records (the score counts them all).
const maxHits = 8

// Verdict is a message's score and the rules that fired.
type Verdict struct {
	Score     float64
	Threshold float64
	TextKey   string // see Input.RepeatMinLength
	hits      [maxHits]Hit
	n         int
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
		fmt.Fprintf(&b, "%s %s (+%.2g)", h.Rule, h.Detail, h.Score)
	}
	return b.String()
}

// Compile builds a config's scorer: the keyword automaton (keyword files
// read now) and the classifier's sample files.
func Compile(c *Config) (*Scorer, error) {
	s := &Scorer{cfg: c}
	s.pool.New = func() any { return new(Normalizer) }
	var n Normalizer
	var words []Pattern
	add := func(w string, kind patKind, score float64) {
		form := append([]rune(nil), n.Normalize(w)...)
		if len(form) == 0 {
			return
		}
		words = append(words, Pattern{Runes: form, Prefix: kind != kindKeyword})
		s.pats = append(s.pats, patInfo{kind: kind, word: w, score: score})
		// "h/o/t/ /s/i/n/g/l/e/s" loses its space along with the
		// separators: a phrase also matches written solid
		if solid := removeSpaces(form); len(solid) != len(form) {
			words = append(words, Pattern{Runes: solid, Prefix: kind != kindKeyword})
			s.pats = append(s.pats, patInfo{kind: kind, word: w, score: score})
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
			})
			if err != nil {
				return nil, err
			}
		}
	}
	if c.Contacts.WeChat > 0 {
		for _, w := range wechatPrefixes {
			add(w, kindWeChat, c.Contacts.WeChat)
		}
	}
	if c.Contacts.QQ > 0 {
		for _, w := range qqPrefixes {
			add(w, kindQQ, c.Contacts.QQ)
		}
	}
	s.matcher = NewMatcher(words)
	if cl := c.Classifier; cl != nil {
		m := NewModel()
		for _, set := range []struct {
			files []string
			spam  bool
		}{{paths(cl.Spam), true}, {paths(cl.Ham), false}} {
			for _, f := range set.files {
				if err := readLines(f, func(line string) error {
					m.Learn(n.Normalize(line), set.spam, 1)
					return nil
				}); err != nil {
					return nil, err
				}
			}
		}
		m.Refresh()
		s.base = m
	}
	return s, nil
}

func paths[T ~string](ps []T) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// Score scores a message. model is the classifier to use (the sample
// files' plus moderators' reports); nil uses the sample files' alone.
func (s *Scorer) Score(in Input, model *Model) Verdict {
	c := s.cfg
	v := Verdict{Threshold: c.Threshold}
	if in.Newcomer && c.Newcomer.Threshold > 0 {
		v.Threshold = c.Newcomer.Threshold
	}
	n := s.pool.Get().(*Normalizer)
	defer s.pool.Put(n)
	text := n.Normalize(in.Text)
	if in.RepeatMinLength > 0 && len(text) >= in.RepeatMinLength {
		v.TextKey = TextKey(text)
	}

	// keywords and contact prefixes, one pass
	s.matcher.Match(text, func(id, end int) bool {
		p := &s.pats[id]
		switch p.kind {
		case kindKeyword:
			v.Add("keyword", p.word, p.score)
		case kindWeChat:
			if idAfter(text, end, false) {
				v.Add("contact", "wechat", p.score)
			}
		case kindQQ:
			if idAfter(text, end, true) {
				v.Add("contact", "qq", p.score)
			}
		}
		return true
	})
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
		switch {
		case f.FromChat != "" && strings.Contains(f.FromChat, ":-100") || f.FromChat != "" && f.FromUser == "" && f.Name == "":
			v.Add("forward", "channel or group", max(c.Forwards.Channel, c.Forwards.Group))
		case f.FromChat != "":
			v.Add("forward", "group", c.Forwards.Group)
		default:
			v.Add("forward", "user", c.Forwards.User)
		}
		if in.Newcomer {
			v.Add("newcomer", "forward", c.Newcomer.Forwards)
		}
	}
	if in.UnknownMentions > 0 {
		v.Add("link", "@mention of a non-member", c.Links.Channels)
	}
	if c.Classifier != nil {
		if model == nil {
			model = s.base
		}
		if model != nil {
			p := model.SpamProbability(text)
			if p > 0.5 {
				v.Add("classifier", "naive Bayes", c.Classifier.Weight*(p-0.5)*2)
			}
		}
	}
	return v
}

// idAfter reports whether a contact id follows a prefix ending at end.
// After at most one space comes a token of letters and digits; a short
// one without digits may go on after one more separator ("abc_12345"
// becomes "abc 12345" in the match form). A WeChat id is 5 to 20 long
// with at least one digit (so "wechat group" is not one); a QQ number is
// 5 to 11 digits.
func idAfter(text []rune, end int, qq bool) bool {
	i := end
	if i < len(text) && text[i] == ' ' {
		i++
	}
	n, letters, digits := 0, 0, 0
	for part := 0; part < 2; part++ {
		start := n
		for ; i < len(text) && text[i] < 0x80 && isWordASCII(text[i]); i++ {
			n++
			if isLetterASCII(text[i]) {
				letters++
			} else {
				digits++
			}
		}
		if qq || digits > 0 || n-start > 6 || n == start || i+1 >= len(text) || text[i] != ' ' {
			break
		}
		i++ // one separator inside the id
	}
	if qq {
		return n >= 5 && n <= 11 && letters == 0
	}
	return n >= 5 && n <= 20 && digits > 0
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
