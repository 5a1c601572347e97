package adfilter

import (
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

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
	runes []rune
	out   []rune
	shape Shape
}

// Shape is what normalising hides, counted as it reads the message: the
// scripts and symbols it was written in (emoji, kana in Chinese spam,
// mathematical letters) — features of the model, counted in the pass
// that reads the text anyway.
type Shape struct{ Total, Emoji, Kana, Fancy, Punct int }

// Shape answers the last normalised message's shape.
func (n *Normalizer) Shape() Shape { return n.shape }

// asciiPunct is unicode.IsPunct below U+0080, as a table.
var asciiPunct = func() (t [utf8.RuneSelf]bool) {
	for r := range rune(utf8.RuneSelf) {
		t[r] = unicode.IsPunct(r)
	}
	return t
}()

// count adds a character that is neither ASCII nor common Han to the
// shape.
func (s *Shape) count(r rune) {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF:
		s.Emoji++
	case r >= 0x3040 && r <= 0x30FF:
		s.Kana++
	case r >= 0x1D400 && r <= 0x1D7FF || r >= 0xFF01 && r <= 0xFF5E || r >= 0x2460 && r <= 0x24FF:
		s.Fancy++
	case r >= 0x3000 && r <= 0x303F || r >= 0xFF00 && r <= 0xFF0F:
		s.Punct++
	}
}

// lookalikes maps letters that pass for Latin ones.
var lookalikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ɡ': 'g', 'ӏ': 'l', 'ү': 'y', 'һ': 'h',
	// small capitals and other letters that pass for Latin or Cyrillic in
	// "fancy text" generators: ᴘᴏᴅᴅᴇʟ'ɴᴀʏᴀ, ꜰʀᴇᴇ ᴍᴏɴᴇʏ (ʙ, ᴧ, ᴨ, ʍ, ɜ fold as
	// the Cyrillic в, л, п, м, з they imitate do: into the look-alikes' own
	// folds where those have one)
	'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ꜰ': 'f', 'ɢ': 'g', 'ʜ': 'h', 'ɪ': 'i', 'ᴊ': 'j',
	'ᴋ': 'k', 'ʟ': 'l', 'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o', 'ᴘ': 'p', 'ʀ': 'r', 'ꜱ': 's', 'ᴛ': 't', 'ᴜ': 'u',
	'ᴠ': 'v', 'ᴡ': 'w', 'ʏ': 'y', 'ᴢ': 'z', 'ᴧ': 'л', 'ᴨ': 'п', 'ʍ': 'm', 'ɜ': 'з', 'ᴦ': 'г', 'ᴩ': 'p',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't',
	'υ': 'u', 'χ': 'x', 'ω': 'w', 'γ': 'y',
}

// digitLookalikes are digits (and signs) written for letters.
var digitLookalikes = [128]rune{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', '$': 's'}

// Normalize returns the match form of s. The result is valid until the
// next call.
//
// NFKC is applied a character at a time, from the character's own
// compatibility decomposition, rather than to the whole string first: the
// marks a composition would put back are dropped anyway, and a whole-string
// pass over every message that has one Cyrillic letter or emoji cost a
// third of the decision. Runes without a decomposition (ASCII, the CJK
// ideographs, Hangul, most letters) skip the lookup.
func (n *Normalizer) Normalize(s string) []rune {
	// runes: folded, marks dropped; separators kept as 0
	n.runes = n.runes[:0]
	n.shape = Shape{}
	quick := quickFold()
	for _, r := range s { // invalid UTF-8 reads as U+FFFD, a byte at a time
		n.shape.Total++
		if r < utf8.RuneSelf {
			if asciiPunct[r] {
				n.shape.Punct++
			}
			switch {
			case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			case 'A' <= r && r <= 'Z':
				r += 'a' - 'A'
			case r == '+':
				r = plusMark // "+V": 加V; decided below
			case r != '@' && r != '$':
				r = 0
			}
			n.runes = append(n.runes, r)
			continue
		}
		if isHan(r) {
			// the common case in Chinese text: a letter without case;
			// traditional characters fold to simplified (代開發票 is 代开发票)
			n.runes = append(n.runes, toSimplified(r))
			continue
		}
		n.shape.count(r)
		if v := quick.of(r); v != foldSlow {
			// Latin, Greek, Cyrillic, symbols, CJK and full-width
			// punctuation: one table read
			switch v {
			case foldSkip:
				continue
			case foldSep:
				n.runes = append(n.runes, 0)
				continue
			default:
				n.runes = append(n.runes, v)
				continue
			}
		}
		n.foldDecomposed(r)
	}
	// one pass over the runes: the separators decided (a plus before v or
	// w is 加, "+V 123456"; '@' and '$' are letters only between letters,
	// "fr@ud", "ca$h"), and the words joined — without a space between
	// two single characters ("加 V") or two CJK ones, with one otherwise
	n.out = n.out[:0]
	runes := n.runes
	word := func(i int) rune {
		switch r := runes[i]; r {
		case plusMark:
			if i+1 < len(runes) && (runes[i+1] == 'v' || runes[i+1] == 'w') {
				return '加'
			}
			return 0
		case '@', '$':
			if i == 0 || i+1 == len(runes) || !isLetterASCII(runes[i-1]) || !isLetterASCII(runes[i+1]) {
				return 0
			}
			return r
		default:
			return r
		}
	}
	in, any := false, false
	prevLen, curLen := 0, 0
	var last rune
	for i := range runes {
		r := word(i)
		if r == 0 {
			if in {
				in, prevLen = false, curLen
			}
			continue
		}
		if !in {
			if any {
				single := i+1 == len(runes) || word(i+1) == 0
				if !(prevLen == 1 && single || isCJK(last) && isCJK(r)) {
					n.out = append(n.out, ' ')
				}
			}
			in, any, curLen = true, true, 0
		}
		n.out = append(n.out, r)
		curLen++
		last = r
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

// foldDecomposed folds a character by its compatibility decomposition
// (NFKC's, one character at a time), or itself when it has none.
func (n *Normalizer) foldDecomposed(r rune) {
	if r < 0xAC00 || r > 0xD7A3 { // Hangul syllables stay whole
		var buf [utf8.UTFMax]byte
		if d := norm.NFKC.Properties(buf[:utf8.EncodeRune(buf[:], r)]).Decomposition(); d != nil {
			for len(d) > 0 {
				dr, ds := utf8.DecodeRune(d)
				n.fold(dr)
				d = d[ds:]
			}
			return
		}
	}
	n.fold(r)
}

// quickFold is what foldDecomposed makes of each character in the
// ranges it covers, computed once: the scripts of most non-Chinese spam
// (Latin with accents, Cyrillic look-alikes, Greek, symbols) and the
// punctuation of Chinese text (、。「」 and the full-width ，！？：) then cost
// one array read each, not a decomposition lookup, a case mapping and a
// map of look-alikes.
type foldTable struct {
	lo [loEnd]rune             // U+0000 to U+30FF
	hi [0x10000 - hiStart]rune // U+FE00 to U+FFFF
}

const (
	loEnd, hiStart = 0x3100, 0xFE00
	foldSlow       = rune(0)  // folds to several characters: the slow way
	foldSkip       = rune(-1) // invisible
	foldSep        = rune(-3) // a separator
)

func (t *foldTable) of(r rune) rune {
	switch {
	case r < loEnd:
		return t.lo[r]
	case r >= hiStart && r < 0x10000:
		return t.hi[r-hiStart]
	}
	return foldSlow
}

var quickFold = sync.OnceValue(func() *foldTable {
	t := new(foldTable)
	var n Normalizer
	one := func(r rune) rune {
		if r == '➕' || isHan(r) {
			return foldSlow // decided by what follows / folded elsewhere
		}
		n.runes = n.runes[:0]
		n.foldDecomposed(r)
		switch {
		case len(n.runes) == 0:
			return foldSkip
		case len(n.runes) > 1 || n.runes[0] == plusMark:
			return foldSlow
		case n.runes[0] == 0:
			return foldSep
		}
		return n.runes[0]
	}
	for r := rune(utf8.RuneSelf); r < loEnd; r++ {
		t.lo[r] = one(r)
	}
	for r := rune(hiStart); r < 0x10000; r++ {
		if r < 0xD800 || r > 0xDFFF {
			t.hi[r-hiStart] = one(r)
		}
	}
	return t
})

// fold appends one character of the text, or of a character's
// compatibility decomposition, to the runes.
func (n *Normalizer) fold(r rune) {
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
		r = toSimplified(r)
	case isInvisible(r):
		return
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

// foldWord folds look-alike digits written inside a word, between
// letters ("m0ney", "w3chat", "fr3e"), but not digits at a word's edge
// ("abc123", "5g", "mp3"), so ids and numbers keep their digits. It
// decides on the unfolded word, then folds.
func foldWord(w []rune) {
	// most words hold no digit or sign that passes for a letter: done
	if !slices.ContainsFunc(w, func(r rune) bool { return r < utf8.RuneSelf && digitLookalikes[r] != 0 }) {
		return
	}
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
