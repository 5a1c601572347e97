package adfilter

import "testing"

// A Russian word is one word feature, however normalising folded its
// look-alike letters to Latin; Chinese text makes none.
func TestWordsOfEveryAlphabet(t *testing.T) {
	var n Normalizer
	has := func(text, word string) bool {
		norm := n.Normalize(text)
		feats := linFeatures(nil, text, n.Shape(), norm, nil)
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
