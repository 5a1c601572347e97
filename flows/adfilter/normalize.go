package adfilter

import (
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// Normalizer turns text into its match form, the one form keywords, the
// classifier and repeat detection compare: the usual evasions of ad
// posters undone.
//
//   - Unicode NFKC: full-width letters and digits become ASCII, circled and
//     mathematical letters become plain ones, ligatures split.
//   - Case folded.
//   - Zero-width and format characters, variation selectors and combining
//     marks (strike-through, underline overlays) removed.
//   - Punctuation, symbols and emoji are separators. A separator between two
//     single characters ("加 V", "加-微-信", "v.x", "w e c h a t") or between
//     two CJK characters is removed; any other becomes one space, so "nov
//     xmas" does not turn into "novxmas" and match "vx".
//   - Traditional Chinese characters folded to simplified ones (OpenCC's
//     character table).
//   - Look-alikes folded: Cyrillic and Greek letters that look Latin, and
//     digits inside a word that has more letters than digits ("fr33",
//     "w3chat", "m0ney"), but not in numbers or ids ("v1234567").
//
// A Normalizer keeps its buffers between calls; use one per goroutine.
type Normalizer struct {
	nfkc   []byte
	runes  []rune
	tokens []span
	out    []rune
}

type span struct{ start, end int }

// lookalikes maps letters that pass for Latin ones.
var lookalikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ɡ': 'g', 'ӏ': 'l', 'ү': 'y', 'һ': 'h',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't',
	'υ': 'u', 'χ': 'x', 'ω': 'w', 'γ': 'y',
}

// digitLookalikes are digits (and signs) written for letters.
var digitLookalikes = [128]rune{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', '$': 's'}

// Normalize returns the match form of s. The result is valid until the
// next call.
func (n *Normalizer) Normalize(s string) []rune {
	if needsNFKC(s) {
		n.nfkc = norm.NFKC.AppendString(n.nfkc[:0], s)
		s = unsafe.String(unsafe.SliceData(n.nfkc), len(n.nfkc))
	}
	// runes: folded, marks dropped; separators kept as 0
	n.runes = n.runes[:0]
	for _, r := range s {
		switch {
		case r == '+' || r == '➕':
			r = plusMark // "+V", "➕V": 加V; decided below
		case r == '🐧':
			n.runes = append(n.runes, '企') // the QQ penguin: 企鹅
			r = '鹅'
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			if !isWordASCII(r) && r != '@' && r != '$' {
				r = 0
			}
		case isHan(r):
			// the common case in Chinese text: a letter without case;
			// traditional characters fold to simplified (代開發票 is 代开发票)
			r = toSimplified(r)
		case r >= 0xFF01 && r <= 0xFF5E:
			// full-width ASCII, as NFKC maps it
			r -= 0xFEE0
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			if !isWordASCII(r) && r != '@' && r != '$' {
				r = 0
			}
		case isInvisible(r):
			continue
		default:
			r = unicode.ToLower(r)
			if l, ok := lookalikes[r]; ok {
				r = l
			} else if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				r = 0
			}
		}
		n.runes = append(n.runes, r)
	}
	// '@' and '$' are letters only between letters ("fr@ud", "ca$h");
	// a plus before v or w is 加 ("+V 123456"), otherwise a separator
	for i, r := range n.runes {
		if r == plusMark {
			n.runes[i] = 0
			if i+1 < len(n.runes) && (n.runes[i+1] == 'v' || n.runes[i+1] == 'w') {
				n.runes[i] = '加'
			}
			continue
		}
		if (r == '@' || r == '$') && (i == 0 || i+1 == len(n.runes) || !isLetterASCII(n.runes[i-1]) || !isLetterASCII(n.runes[i+1])) {
			n.runes[i] = 0
		}
	}
	// tokens: runs of word runes
	n.tokens = n.tokens[:0]
	start := -1
	for i, r := range n.runes {
		if r == 0 {
			if start >= 0 {
				n.tokens = append(n.tokens, span{start, i})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		n.tokens = append(n.tokens, span{start, len(n.runes)})
	}
	n.out = n.out[:0]
	for i, t := range n.tokens {
		if i > 0 {
			prev := n.tokens[i-1]
			joined := (prev.end-prev.start == 1 && t.end-t.start == 1) ||
				(isCJK(n.runes[prev.end-1]) && isCJK(n.runes[t.start]))
			if !joined {
				n.out = append(n.out, ' ')
			}
		}
		n.out = append(n.out, n.runes[t.start:t.end]...)
	}
	// fold look-alikes per word of the joined form, so that normalising
	// the result again changes nothing
	for i := 0; i < len(n.out); {
		j := i
		for j < len(n.out) && n.out[j] != ' ' {
			j++
		}
		foldWord(n.out[i:j])
		i = j + 1
	}
	return n.out
}

// foldWord folds look-alike digits written inside a word, between
// letters ("m0ney", "w3chat", "fr3e"), but not digits at a word's edge
// ("abc123", "5g", "mp3"), so ids and numbers keep their digits. It
// decides on the unfolded word, then folds.
func foldWord(w []rune) {
	var fold [64]bool
	for i, r := range w {
		if i < len(fold) && r < utf8.RuneSelf && digitLookalikes[r] != 0 && (r == '@' || r == '$' || interior(w, i)) {
			fold[i] = true
		}
	}
	for i := range w {
		if i < len(fold) && fold[i] {
			w[i] = digitLookalikes[w[i]]
		}
	}
}

// interior reports whether the digit run around tok[i] (at most two long)
// has a letter on both sides.
func interior(tok []rune, i int) bool {
	a, b := i, i
	for a > 0 && isDigitASCII(tok[a-1]) {
		a--
	}
	for b+1 < len(tok) && isDigitASCII(tok[b+1]) {
		b++
	}
	return b-a < 2 && a > 0 && b+1 < len(tok) && isLetterASCII(tok[a-1]) && isLetterASCII(tok[b+1])
}

func isDigitASCII(r rune) bool { return '0' <= r && r <= '9' }

// needsNFKC reports whether s has a character NFKC might change. ASCII,
// the common CJK ideographs, Hangul syllables, 、。「」 and full-width
// ASCII (mapped by hand) are left alone, which skips NFKC for nearly all
// everyday Chinese and English messages.
func needsNFKC(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case isHan(r), r >= 0xAC00 && r <= 0xD7A3, r >= 0xFF01 && r <= 0xFF5E,
			r == 0x3001, r == 0x3002, r >= 0x300C && r <= 0x300F, r >= 0x2018 && r <= 0x201D:
		default:
			return true
		}
	}
	return false
}

// isHan is the CJK Unified Ideographs block: most Chinese text.
func isHan(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF }

func isLetterASCII(r rune) bool { return 'a' <= r && r <= 'z' }

func isWordASCII(r rune) bool {
	return 'a' <= r && r <= 'z' || '0' <= r && r <= '9'
}

// isInvisible reports characters that show nothing: zero-width and format
// characters, variation selectors, combining marks.
func isInvisible(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x2064,
		r == 0xFEFF, r == 0x00AD, r == 0x180E, r == 0x034F, r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF:
		return true
	}
	return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r)
}

// isCJK reports Han, kana and Hangul: scripts written without spaces.
func isCJK(r rune) bool {
	return isHan(r) || r >= 0x2E80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r))
}

// plusMark stands for a plus sign until what follows it is known.
const plusMark = -2

// t2sBase is the first rune of t2sDense, which covers the CJK blocks most
// traditional characters are in; the rest are in t2sSparse.
const t2sBase, t2sEnd = 0x3400, 0x9FFF

var t2sDense, t2sSparse = func() ([]rune, map[rune]rune) {
	dense := make([]rune, t2sEnd-t2sBase+1)
	sparse := map[rune]rune{}
	rs := []rune(t2sPairs)
	table := make(map[rune]rune, len(rs)/2)
	for i := 0; i+1 < len(rs); i += 2 {
		table[rs[i]] = rs[i+1]
	}
	for from, to := range table {
		// follow chains, so folding twice changes nothing
		for range 4 {
			next, ok := table[to]
			if !ok || next == to || next == from {
				break
			}
			to = next
		}
		if from >= t2sBase && from <= t2sEnd {
			dense[from-t2sBase] = to
		} else {
			sparse[from] = to
		}
	}
	return dense, sparse
}()

// toSimplified folds a traditional Chinese character to its simplified
// form; others are returned as they are.
func toSimplified(r rune) rune {
	if r >= t2sBase && r <= t2sEnd {
		if s := t2sDense[r-t2sBase]; s != 0 {
			return s
		}
		return r
	}
	if s, ok := t2sSparse[r]; ok {
		return s
	}
	return r
}
