package adfilter

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Model is a logistic regression over hashed features of a message's
// match form: character 1-, 2- and 3-grams, word tokens of alphabets written with spaces, the rules'
// hits (each keyword and contact prefix is a feature with a learned
// weight, not a fixed score) and the message's shape (length, shares of
// digits, Latin letters and symbols, the longest digit run, repeated
// characters, links). Its output is a probability, so the filter can let
// it decide alone when it is sure.
//
// Logistic regression rather than the naive Bayes it replaces: naive
// Bayes counts every n-gram of a message as independent evidence, so long
// ordinary messages and short ones drift to the extremes, and it cannot
// weigh a keyword against the rest of the message. A discriminative
// model learns both from the data and stays fast: a few hundred hashed
// features per message, one multiply-add each.
type Model struct {
	// w are the weights as learned; q are them as the decision reads them,
	// a byte each (w ≈ q×qs): a quarter of the memory, so more of them
	// stay in the cache (11% off the whole decision, in-process A/B), for
	// an error of at most qs/2 per weight — in P(spam), at most 0.009 on
	// the messages of the four corpora (cn-chat's worst); eval's figures
	// moved by one message or none
	w    []float32
	q    []int8
	qs   float64
	bias float64
	// trained is the fewer of spam and ham messages it learned from: a
	// model that saw few may only tip other signals, never decide alone
	trained int
	// known is the spam it learned from, for near-duplicates
	known *similar
	// sure is the P(spam) from which it decides alone, learned in
	// training (see Scorer.calibrate)
	sure float64
}

const (
	linBits = 18
	linMask = 1<<linBits - 1
)

// feature namespaces, so a trigram and a word never share a hash by design
const (
	nsGram uint32 = iota + 1
	nsWord
	nsRule
	nsShape
	nsGram4
	nsRuns
)

// linFeatures appends the hashed features of a message in match form to
// out; raw is the message as written and sh its Shape (Normalizer.Shape);
// hits are the rules that fired (see hitHash). Unless mh is nil, it also
// computes the message's signature for near-duplicates into mh (reset):
// its 3-grams are most of the model's, and hashing them once, in the pass
// that reads the message anyway, saves a tenth of the decision.
func linFeatures(out []uint32, raw string, sh Shape, text []rune, hits []uint32, mh *minHash) []uint32 {
	fn := func(f uint32) { out = append(out, f) }
	emoji, kana, fancy, punct, total := sh.Emoji, sh.Kana, sh.Fancy, sh.Punct, sh.Total
	fn(fhash(nsShape, '@', bucket(handles(raw)), 0))
	fn(fhash(nsShape, 'e', bucket(emoji), 0))
	fn(fhash(nsShape, 'k', bucket(kana), 0))
	fn(fhash(nsShape, 'f', bucket(fancy), 0))
	if total > 0 {
		fn(fhash(nsShape, 'p', rune(10*punct/total), 0))
	}
	var p1, p2, p3 rune = ' ', ' ', ' '
	var q1, q2 rune = -1, -1 // the last two characters but spaces, for mh
	if mh != nil {
		mh.reset()
	}
	digits, latin, other, run, maxRun, rep, maxRep := 0, 0, 0, 0, 0, 0, 0
	var prev rune
	wordStart := -1
	// the message's shape as runs of character classes (Han, digits,
	// Latin letters, spaces, others) with their lengths on a log scale,
	// alone and after the two before: "PCK728 少腹" is a4 93 _ H2, an id
	// glued to words
	var cls, r1, r2 rune
	runLen := 0
	endRun := func() {
		tok := cls<<8 | bucket(runLen)
		fn(fhash(nsRuns, tok, r1, r2))
		fn(fhash(nsRuns, tok, r1, -1))
		r2, r1 = r1, tok
	}
	for i, r := range text {
		if r != ' ' {
			fn(fhash(nsGram, r, 0, 0))
		}
		fn(fhash(nsGram, p1, r, 1))
		tri := fhash(nsGram, p2, p1, r)
		fn(tri)
		if mh != nil && r != ' ' {
			if q2 >= 0 {
				if p1 == ' ' || p2 == ' ' {
					// a space inside: the signature's 3-gram skips it
					tri = fhash(nsGram, q2, q1, r)
				}
				mh.add(tri)
			}
			q2, q1 = q1, r
		}
		fn(fhash(nsGram4, p3, p2, p1) ^ fhash(nsGram4, r, 0, 0))
		p3, p2, p1 = p2, p1, r
		var c rune
		switch {
		case r >= '0' && r <= '9':
			digits++
			run++
			maxRun = max(maxRun, run)
			c = '9'
		case r < 0x80 && unicode.IsLetter(r):
			latin++
			run = 0
			c = 'a'
		case r == ' ':
			run = 0
			c = '_'
		case isHan(r): // the common Han block, without a table lookup
			run = 0
			c = 'H'
		default:
			run = 0
			if !unicode.Is(unicode.Han, r) {
				other++
			}
			c = 'o'
		}
		if c != cls && runLen > 0 {
			endRun()
			runLen = 0
		}
		cls = c
		runLen++
		if r == prev && r != ' ' {
			rep++
			maxRep = max(maxRep, rep)
		} else {
			rep = 0
		}
		prev = r
		// a word is a run of letters and digits of an alphabet written
		// with spaces: Latin, and Cyrillic, Greek, Arabic... (below U+3000),
		// whose look-alikes normalising folded, so "пoдpaбotka" is one
		// word, not three pieces; Chinese and Japanese have their n-grams
		word := c == '9' || c == 'a' || r >= 0x80 && r < 0x3000 && unicode.IsLetter(r)
		if word && wordStart < 0 {
			wordStart = i
		}
		if !word && wordStart >= 0 {
			fn(wordHash(text[wordStart:i]))
			wordStart = -1
		}
	}
	if wordStart >= 0 {
		fn(wordHash(text[wordStart:]))
	}
	if runLen > 0 {
		endRun()
	}
	fn(fhash(nsGram, p2, p1, ' '))
	n := len(text)
	fn(fhash(nsShape, 'L', bucket(n), 0))
	if n > 0 {
		fn(fhash(nsShape, 'D', rune(10*digits/n), 0))
		fn(fhash(nsShape, 'A', rune(10*latin/n), 0))
		fn(fhash(nsShape, 'O', rune(10*other/n), 0))
	}
	fn(fhash(nsShape, 'R', bucket(maxRun), 0))
	fn(fhash(nsShape, 'P', bucket(maxRep), 0))
	for _, h := range hits {
		fn(h)
	}
	fn(fhash(nsShape, 'H', bucket(len(hits)), 0))
	fn(fhash(nsShape, 'B', 0, 0)) // always on: a per-shape bias
	return out
}

// hitHash is a rule hit's feature: its rule and detail ("keyword", "加微信").
func hitHash(rule, detail string) uint32 {
	h := uint32(2166136261) ^ nsRule
	for i := 0; i < len(rule); i++ {
		h = (h ^ uint32(rule[i])) * 16777619
	}
	h = (h ^ 0xff) * 16777619
	for i := 0; i < len(detail); i++ {
		h = (h ^ uint32(detail[i])) * 16777619
	}
	h ^= h >> 13
	h *= 0x5bd1e995
	h ^= h >> 15
	return h & linMask
}

// bucket is a small log scale: 0, 1, 2-3, 4-7, 8-15, ...
func bucket(n int) rune {
	b := rune(0)
	for n > 0 {
		b++
		n >>= 1
	}
	return b
}

func fhash(ns uint32, a, b, c rune) uint32 {
	h := uint32(2166136261) ^ ns
	h = (h ^ uint32(a)) * 16777619
	h = (h ^ uint32(b)) * 16777619
	h = (h ^ uint32(c)) * 16777619
	h ^= h >> 13
	h *= 0x5bd1e995
	h ^= h >> 15
	return h & linMask
}

func wordHash(w []rune) uint32 {
	h := uint32(2166136261) ^ nsWord
	for _, r := range w {
		h = (h ^ uint32(r)) * 16777619
	}
	h ^= h >> 13
	h *= 0x5bd1e995
	h ^= h >> 15
	return h & linMask
}

// sample is a training message: its features and label.
type sample struct {
	f     []uint32
	spam  bool
	short bool
}

// trainLinear fits the model by AdaGrad on the logistic loss with L2. It
// fits it trainOrders times, each visiting the samples in an order of its
// own, and averages the weights: on a few thousand messages the order
// alone moves the result (tgspam's best F1 at 10 false positives in
// 1,000 went from 0.951 to 0.977 over four orders) and the average keeps
// what the orders agree on. The orders are fixed by seed: the same files
// give the same model on every replica and every run.
func trainLinear(samples []sample, epochs int, seed uint64) *Model {
	m := newModel()
	m.sure = defaultSure
	nspam := 0
	for _, s := range samples {
		if s.spam {
			nspam++
		}
	}
	m.trained = min(nspam, len(samples)-nspam)
	fits := make([]*Model, trainOrders)
	var wg sync.WaitGroup
	for k := range fits {
		wg.Go(func() { fits[k] = fitLinear(samples, epochs, seed, uint64(k)) })
	}
	wg.Wait()
	for _, f := range fits {
		for i, w := range f.w {
			m.w[i] += w / trainOrders
		}
		m.bias += f.bias / trainOrders
	}
	m.quantize()
	return m
}

// newModel is a model of zero weights.
func newModel() *Model {
	return &Model{w: make([]float32, 1<<linBits), q: make([]int8, 1<<linBits), known: &similar{}}
}

// quantize computes q from w.
func (m *Model) quantize() {
	top := float32(0)
	for _, w := range m.w {
		top = max(top, w, -w)
	}
	m.qs = float64(top) / math.MaxInt8
	if m.q == nil {
		m.q = make([]int8, len(m.w))
	}
	for i := range m.w {
		m.q[i] = m.quant(i)
	}
}

// quant is w[i] in steps of qs.
func (m *Model) quant(i int) int8 {
	if m.qs == 0 {
		return 0
	}
	v := float64(m.w[i]) / m.qs
	if v < 0 {
		return int8(max(-math.MaxInt8, v-0.5)) // truncated: rounded half away from zero
	}
	return int8(min(math.MaxInt8, v+0.5))
}

// trainOrders is how many orders of the samples trainLinear averages.
const trainOrders = 3

// fitLinear is one fit of trainLinear, in the order of seed and stream.
func fitLinear(samples []sample, epochs int, seed, stream uint64) *Model {
	m := &Model{w: make([]float32, 1<<linBits)}
	g2 := make([]float32, 1<<linBits)
	var bg2 float64
	const rate, l2 = 1.0, 1e-6
	order := make([]int, len(samples))
	for i := range order {
		order[i] = i
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15+stream))
	for range epochs {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			m.step(samples[i], rate, l2, g2, &bg2)
		}
	}
	return m
}

// step is one AdaGrad update on one sample.
func (m *Model) step(s sample, rate, l2 float64, g2 []float32, bg2 *float64) {
	scale := 1 / math.Sqrt(float64(max(len(s.f), 1)))
	z := m.bias
	for _, f := range s.f {
		z += float64(m.w[f]) * scale
	}
	y := 0.0
	if s.spam {
		y = 1
	}
	g := sigmoid(z) - y
	for _, f := range s.f {
		gf := g*scale + l2*float64(m.w[f])
		g2[f] += float32(gf * gf)
		m.w[f] -= float32(rate * gf / (math.Sqrt(float64(g2[f])) + 1e-8))
	}
	*bg2 += g * g
	m.bias -= rate * g / (math.Sqrt(*bg2) + 1e-8)
}

// probOnce is prob of f with its repeats dropped (featSet.unique), in one
// pass: each feature's weight added the first time it is seen.
func (m *Model) probOnce(f []uint32, seen *featSet) float64 {
	if seen.bits == nil {
		seen.bits = make([]uint64, 1<<linBits/64)
	}
	var z, n int
	for _, x := range f {
		w, b := x/64, uint64(1)<<(x%64)
		if seen.bits[w]&b == 0 {
			seen.bits[w] |= b
			z += int(m.q[x])
			n++
		}
	}
	for _, x := range f {
		seen.bits[x/64] = 0
	}
	if n == 0 {
		return 0.5
	}
	return sigmoid(m.bias + float64(z)*m.qs/math.Sqrt(float64(n)))
}

// prob is P(spam) for a message's features, from the quantized weights.
func (m *Model) prob(f []uint32) float64 {
	if len(f) == 0 {
		return 0.5
	}
	var z int
	for _, x := range f {
		z += int(m.q[x])
	}
	return sigmoid(m.bias + float64(z)*m.qs/math.Sqrt(float64(len(f))))
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// clone copies the weights, for a model that moderators' reports refine.
func (m *Model) clone() *Model {
	c := &Model{w: slices.Clone(m.w), q: slices.Clone(m.q), qs: m.qs, bias: m.bias, trained: m.trained, sure: m.sure, known: &similar{}}
	if m.known != nil {
		c.known = m.known.clone()
	}
	return c
}

// learn moves the model toward one labelled message (a moderator's
// report): a few plain gradient steps, the same on every replica. The
// decision reads the weights' bytes: quantize after learning.
func (m *Model) learn(f []uint32, spam bool) {
	if len(f) == 0 {
		return
	}
	scale := 1 / math.Sqrt(float64(len(f)))
	y := 0.0
	if spam {
		y = 1
	}
	for range 20 {
		g := sigmoid(m.score(f, scale)) - y
		if math.Abs(g) < 0.05 {
			return
		}
		for _, x := range f {
			m.w[x] -= float32(0.5 * g * scale)
		}
	}
}

func (m *Model) score(f []uint32, scale float64) float64 {
	z := m.bias
	for _, x := range f {
		z += float64(m.w[x]) * scale
	}
	return z
}

// featSet drops repeated features, so a message counts each n-gram once:
// counted, "鹅鹅鹅鹅鹅鹅" or "666666" weigh its repeated grams dozens of
// times and the message's other words nothing. A bit per hash slot, 32
// KiB that stay in the first-level cache, cleared after each message by
// the features it kept: 1-4% faster than a 16-bit stamp per slot (in-
// process A/B, interleaved), whose 512 KiB competed with the weights for
// the cache.
type featSet struct {
	bits []uint64
}

// unique removes repeated features from f in place, keeping the first.
func (s *featSet) unique(f []uint32) []uint32 {
	if s.bits == nil {
		s.bits = make([]uint64, 1<<linBits/64)
	}
	out := f[:0]
	for _, x := range f {
		if w, b := x/64, uint64(1)<<(x%64); s.bits[w]&b == 0 {
			s.bits[w] |= b
			out = append(out, x)
		}
	}
	// every bit set is in a word of a kept feature
	for _, x := range out {
		s.bits[x/64] = 0
	}
	return out
}

// Sure is the P(spam) from which the model decides alone, as training
// learned it (see Scorer.calibrate); classifier.sure overrides it.
func (m *Model) Sure() float64 { return m.sure }

// handles counts the @names in a message's raw text: an '@' not inside a
// word, then four or more letters, digits or underscores. Normalising
// drops the '@' (fr@ud is fraud), but a named account is what much
// Telegram spam promotes ("➡️ @Falsh_Supper"): 582 of cn-chat's 4,999
// spam messages name one and 13 of its 5,000 ordinary ones do. Mentions
// of non-members, which only the platform can tell apart, are a rule of
// their own (links.channels).
func handles(raw string) int {
	n := 0
	for i := 0; i < len(raw); i++ {
		at := strings.IndexByte(raw[i:], '@')
		if at < 0 {
			break
		}
		i += at
		if i > 0 && isWordByte(raw[i-1]) {
			continue
		}
		j := i + 1
		for j < len(raw) && isWordByte(raw[j]) {
			j++
		}
		if j-i-1 >= 4 {
			n++
		}
		i = j - 1
	}
	return n
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}
