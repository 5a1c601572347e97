package adfilter

import "testing"

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
