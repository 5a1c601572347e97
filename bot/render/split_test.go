package render

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "hello", 5, []string{"hello"}},
		{"empty stays one part", "", 5, []string{""}},
		{"at a blank line", "aaaa\n\nbbbb\n\ncc", 12, []string{"aaaa\n\nbbbb\n\n", "cc"}},
		{"at a line break", "aaaa\nbbbb\ncc", 11, []string{"aaaa\nbbbb\n", "cc"}},
		{"at a space", "aaa bbb ccc", 8, []string{"aaa bbb ", "ccc"}},
		{"a break too early is not taken", "a bbbbbbbbbb", 8, []string{"a bbbbbb", "bbbb"}},
		{"hard cut", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"astral characters count two and are never cut", "😀😀😀", 3, []string{"😀", "😀", "😀"}},
		{"Chinese, one unit each", "一二三四五六七", 3, []string{"一二三", "四五六", "七"}},
		{"white space alone is dropped", "aaaa          \n\nbb", 5, []string{"aaaa ", "\nbb"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.text, tc.limit, utf16.RuneLen)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("Split(%q, %d) = %q, want %q", tc.text, tc.limit, got, tc.want)
			}
		})
	}
	// a 10,000-character report goes in three parts within Telegram's limit
	long := strings.Repeat("第一行 line of a long report\n", 400)
	parts := Split(long, 4096, utf16.RuneLen)
	if len(parts) != 3 || strings.Join(parts, "") != long {
		t.Errorf("%d parts of a %d-unit text, joined equal: %v", len(parts), Measure(long, utf16.RuneLen), strings.Join(parts, "") == long)
	}
	for _, p := range parts {
		if n := Measure(p, utf16.RuneLen); n > 4096 || !strings.HasSuffix(p, "\n") && p != parts[len(parts)-1] {
			t.Errorf("a part of %d units, cut mid-line: %q", n, p[len(p)-20:])
		}
	}
	// WeCom counts UTF-8 bytes: a Chinese character is three
	if got := Split("一二三四五六七", 9, utf8.RuneLen); strings.Join(got, "|") != "一二三|四五六|七" {
		t.Errorf("by bytes: %q", got)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "hello world", "a\n\nb\nc d", "😀😀😀x", "一二 三四\n五", "\xff\xfe bad utf8"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 2 || limit > 64 {
			return
		}
		parts := Split(s, limit, utf16.RuneLen)
		if len(parts) == 0 {
			t.Fatal("no parts")
		}
		for _, p := range parts {
			if Measure(p, utf16.RuneLen) > limit {
				t.Fatalf("part %q over %d units", p, limit)
			}
			if len(parts) > 1 && strings.TrimSpace(p) == "" {
				t.Fatalf("a blank part among %q", parts)
			}
		}
		// nothing but dropped white space is lost, and nothing reordered
		strip := func(s string) string {
			return strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) {
					return -1
				}
				return r
			}, s)
		}
		if strip(strings.Join(parts, "")) != strip(s) {
			t.Fatalf("Split(%q, %d) = %q loses text", s, limit, parts)
		}
	})
}
