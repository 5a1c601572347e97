package verify

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/qunbot/qunbot/bot"
)

// item is one button of the button challenge: the emoji on the button and
// its name in the prompt, so a bot must understand the text to pick it.
type item struct{ emoji, zh, en string }

var items = []item{
	{"🍎", "苹果", "apple"}, {"🍌", "香蕉", "banana"}, {"🍇", "葡萄", "grapes"}, {"🍉", "西瓜", "watermelon"},
	{"🍒", "樱桃", "cherries"}, {"🍋", "柠檬", "lemon"}, {"🍑", "桃子", "peach"}, {"🥝", "猕猴桃", "kiwi"},
}

// challenge is one newcomer's test.
type challenge struct {
	kind     string
	answer   string // the right button index, or the math result
	question string // shown in the prompt
	label    string // the button to press, named in the locale
	buttons  [][]bot.ButtonSpec
}

// rng is seeded from the group, member and time, so a challenge is
// unpredictable to the newcomer yet the console's transcripts are the same
// on every run.
func rng(group, member string, at time.Time) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%d", group, member, at.UnixNano())
	return rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))
}

func newChallenge(kind string, cfg *Config, locale, member string, r *rand.Rand) challenge {
	switch kind {
	case MethodMath:
		a, b := r.IntN(9)+1, r.IntN(9)+1
		if r.IntN(2) == 0 {
			return challenge{kind: kind, question: fmt.Sprintf("%d + %d", a, b), answer: strconv.Itoa(a + b)}
		}
		if a < b {
			a, b = b, a
		}
		return challenge{kind: kind, question: fmt.Sprintf("%d - %d", a, b), answer: strconv.Itoa(a - b)}
	case MethodQuestion:
		return challenge{kind: kind, question: cfg.Question}
	}
	pick := r.Perm(len(items))[:cfg.Choices]
	right := r.IntN(len(pick))
	row := make([]bot.ButtonSpec, len(pick))
	for i, idx := range pick {
		row[i] = bot.ButtonSpec{Text: items[idx].emoji, Data: fmt.Sprintf("verify:%s:%d", member, i)}
	}
	it := items[pick[right]]
	label := it.en
	if locale == "zh-CN" {
		label = it.zh
	}
	return challenge{kind: MethodButton, answer: strconv.Itoa(right), label: label, buttons: [][]bot.ButtonSpec{row}}
}

// normalize folds what people type differently: full-width forms (NFKC),
// case, and spaces.
func normalize(s string) string {
	s = norm.NFKC.String(s)
	s = strings.ToLower(s)
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// matches checks a typed answer.
func matches(kind, typed, answer string, answers []string) bool {
	t := normalize(typed)
	if kind == MethodMath {
		return t == answer
	}
	for _, a := range answers {
		if t == normalize(a) {
			return true
		}
	}
	return false
}
