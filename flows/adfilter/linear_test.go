package adfilter

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// A Russian word is one word feature, however normalising folded its
// look-alike letters to Latin; Chinese text makes none.
func TestWordsOfEveryAlphabet(t *testing.T) {
	var n Normalizer
	has := func(text, word string) bool {
		norm := n.Normalize(text)
		feats := linFeatures(nil, text, n.Shape(), norm, nil, nil)
		w := wordHash(n.Normalize(word))
		for _, f := range feats {
			if f == w {
				return true
			}
		}
		return false
	}
	if !has("Подработка кого интересует", "Подработка") {
		t.Error("a Cyrillic word is not a word feature")
	}
	if !has("free money today", "money") {
		t.Error("a Latin word is not a word feature")
	}
	if has("高薪兼职日结工资", "高薪兼职日结工资") {
		t.Error("Chinese text made a word feature")
	}
}

// The signature the decision computes with the model's features is the
// one the known spam's were computed with: a difference would make no
// copy of a known message alike.
func FuzzSignatureWithFeatures(f *testing.F) {
	for _, s := range []string{
		"", "ab", "加微信", "加 微 信 领取 福利 abc123 4567",
		"日结300元 电话 138 1234 5678", "free money  today   at http://x.cn",
		"a b c d e f g h", "  lead and trail  ", "Подработка кого интересует 💵",
	} {
		f.Add(s)
	}
	var n Normalizer
	var mh minHash
	f.Fuzz(func(t *testing.T, s string) {
		text := n.Normalize(s)
		want, wantOK := signature(text)
		linFeatures(nil, s, n.Shape(), text, nil, &mh)
		got, gotOK := mh.sum()
		if got != want || gotOK != wantOK {
			t.Fatalf("%q: the features' pass made %v (%v), signature %v (%v)", text, got, gotOK, want, wantOK)
		}
	})
}

// The decision reads the weights a byte each; what it computes stays
// within 0.01 of P(spam) from the weights as learned, and the bytes
// follow what a report taught.
func TestQuantizedWeights(t *testing.T) {
	var spam, ham []string
	for i := range 300 {
		spam = append(spam, fmt.Sprintf("高薪兼职日结工资%d元，私聊领取 vx%05d", 100+i, i), fmt.Sprintf("free crypto signals, join t.me/pump%d now", i))
		ham = append(ham, fmt.Sprintf("今天的咖啡第%d杯，味道很好", i), fmt.Sprintf("the meetup is at %d pm, see you there", i%12+1))
	}
	s, err := Compile(&Config{Threshold: 1, Classifier: &Classifier{Weight: 0.5, MaxFalsePositives: 10}})
	if err != nil {
		t.Fatal(err)
	}
	m := s.Train(spam, ham)
	sc := new(scratch)
	feats := func(text string) []uint32 {
		_, _, f := s.features(sc, Input{Text: text}, true)
		return append([]uint32(nil), f...)
	}
	exact := func(f []uint32) float64 { return sigmoid(m.score(f, 1/math.Sqrt(float64(len(f))))) }
	inSync := func(when string) {
		t.Helper()
		for i := range m.w {
			if m.q[i] != m.quant(i) {
				t.Fatalf("%s: weight %d is %v, its byte %d (step %v)", when, i, m.w[i], m.q[i], m.qs)
			}
		}
	}
	inSync("trained")
	for _, text := range append(append([]string{"兼职日结", "咖啡", "hello there", "鹅鹅鹅鹅鹅鹅 666666"}, spam[:50]...), ham[:50]...) {
		f := feats(text)
		if d := math.Abs(m.prob(f) - exact(f)); d > 0.01 {
			t.Errorf("%q: P %v read from bytes, %v from weights", text, m.prob(f), exact(f))
		}
		// the decision drops repeats as it adds: the same P
		v, norm := s.rules(sc, Input{Text: text}, true)
		raw := append([]uint32(nil), s.allFeatures(sc, Input{Text: text}, norm, v)...)
		if once := m.probOnce(raw, &sc.seen); once != m.prob(f) || len(raw) <= len(f) && strings.Contains(text, "鹅鹅") {
			t.Errorf("%q: P %v adding each feature once, %v of the unique features (%d of %d)", text, once, m.prob(f), len(f), len(raw))
		}
	}
	report := feats("今天的咖啡第999杯，味道很好")
	before := m.prob(report)
	m.learn(report, true)
	m.quantize()
	inSync("learned a report")
	if m.prob(report) <= before {
		t.Errorf("a spam report did not raise P: %v, then %v", before, m.prob(report))
	}
}
