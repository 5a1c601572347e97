package adfilter

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Copies of one template share a key whatever their numbers, ids, spaces
// and emoji; different texts do not.
func TestWaveTemplate(t *testing.T) {
	key := func(s string) string {
		var n Normalizer
		return TextKey(template(n.Normalize(s)))
	}
	tests := []struct {
		a, b string
		same bool
	}{
		{"超值兼职日结300元 在家就能做 电话 138 1234 5678", "超值兼职 日结800元，在家就能做！电话13700001111 🔥", true},
		{"加v abc123 领福利", "加V: xyz789 领福利", true},
		{"join t.me/+AbC123 for signals", "JOIN t.me/+zz99 for signals", true},
		{"Дарю 500$ пиши @bob1", "дарю 900$ пиши @ann22", true},
		{"今晚八点直播 记得来看", "今晚九点直播 记得来看", false},
		{"hello world friends", "hello there friends", false},
		{"电话 138 1234 5678", "电话 abc", false},
	}
	for _, tt := range tests {
		if got := key(tt.a) == key(tt.b); got != tt.same {
			t.Errorf("%q and %q: same template = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

func FuzzWaveTemplate(f *testing.F) {
	for _, s := range []string{"电话 138 1234 5678", "abc 123 def", "a1 b2 c3", "\xff", "加v abc123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n Normalizer
		out := template(n.Normalize(s))
		str := string(out)
		if strings.Contains(str, " ") || strings.Contains(str, "##") || !utf8.ValidString(str) {
			t.Fatalf("template of %q: %q", s, str)
		}
		// a template is its own template
		if again := string(template(out)); again != str {
			t.Fatalf("not stable: %q → %q → %q", s, str, again)
		}
	})
}
