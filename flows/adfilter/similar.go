package adfilter

import "slices"

// Spam comes in waves: one template sent many times with small changes (a
// different number, an emoji, a word swapped). similar finds a message
// close to known spam by MinHash over character 3-grams of the match
// form, with locality-sensitive hashing so a lookup costs a few map reads
// however many samples are known: sigs hashes per message, split into
// bands of rows; two messages that agree on every row of some band are
// candidates, and the share of agreeing hashes estimates their Jaccard
// similarity.
type similar struct {
	sigs  [][sigSize]uint32
	bands map[uint64][]int32
	// filter has a bit set for each key of bands: most messages are like
	// no known spam, and one read of a table that stays in the cache says
	// so for a band, where a read of the map misses it
	filter []uint64
}

const (
	sigSize  = 32
	sigRows  = 4
	minGrams = 6 // shorter messages carry too little to compare
	// minSimilar is the estimated Jaccard similarity that counts as "the
	// same template"
	minSimilar = 0.6
)

// signature computes a message's MinHash by one-permutation hashing: each
// 3-gram (of the characters but spaces) is hashed once and lands in one of
// sigSize bins by its top bits, each bin keeping its smallest hash — one
// multiply per 3-gram rather than sigSize. ok is false for messages too
// short to compare. The decision computes the same in the pass that
// computes the model's features (linFeatures); this is for the rest.
func signature(text []rune) (sig [sigSize]uint32, ok bool) {
	var m minHash
	m.reset()
	var p1, p2 rune = -1, -1
	for _, r := range text {
		if r == ' ' {
			continue
		}
		if p2 >= 0 {
			m.add(fhash(nsGram, p2, p1, r))
		}
		p2, p1 = p1, r
	}
	return m.sum()
}

// minHash is a signature being computed.
type minHash struct {
	sig [sigSize]uint32
	n   int
}

func (m *minHash) reset() {
	for i := range m.sig {
		m.sig[i] = emptyBin
	}
	m.n = 0
}

// add takes a 3-gram's hash (fhash(nsGram, ...) of three characters but
// spaces).
func (m *minHash) add(g uint32) {
	h := g * 0x9e3779b1
	h ^= h >> 16
	if bin := h >> (32 - sigBits); h < m.sig[bin] {
		m.sig[bin] = h
	}
	m.n++
}

// sum is the signature, its empty bins filled.
func (m *minHash) sum() (sig [sigSize]uint32, ok bool) {
	if m.n == 0 {
		return m.sig, false
	}
	// densify: an empty bin borrows the nearest filled bin to its right,
	// shifted by the distance (Shrivastava and Li, 2014), so short messages
	// have full signatures and bands
	for i := range m.sig {
		sig[i] = m.sig[i]
		for d := 1; sig[i] == emptyBin; d++ {
			if v := m.sig[(i+d)%sigSize]; v != emptyBin {
				sig[i] = (v + uint32(d)*0x9e3779b1) | 1 // never emptyBin's value by chance... nor 0
				if sig[i] == emptyBin {
					sig[i]--
				}
			}
		}
	}
	return sig, m.n >= minGrams
}

const (
	sigBits  = 5 // sigSize = 1 << sigBits
	emptyBin = ^uint32(0)
)

// bandKey hashes one band of a signature; ok is false for a band with an
// empty bin, which would make every short message a candidate of every
// other.
func bandKey(sig *[sigSize]uint32, band int) (uint64, bool) {
	h := uint64(band+1) * 0x9e3779b97f4a7c15
	for _, v := range sig[band*sigRows : (band+1)*sigRows] {
		if v == emptyBin {
			return 0, false
		}
		h = (h ^ uint64(v)) * 0x100000001b3
	}
	return h, true
}

func (s *similar) add(text []rune) {
	if sig, ok := signature(text); ok {
		s.addSig(sig)
	}
}

func (s *similar) addSig(sig [sigSize]uint32) {
	if s.bands == nil {
		s.bands = map[uint64][]int32{}
	}
	id := int32(len(s.sigs))
	s.sigs = append(s.sigs, sig)
	for b := range sigSize / sigRows {
		if k, ok := bandKey(&sig, b); ok {
			s.bands[k] = append(s.bands[k], id)
			s.mark(k)
		}
	}
}

// filterBits is the filter's size for n band keys, a power of two: at 16
// bits a key, a band no known message has reads the map one time in 16
func filterBits(n int) int {
	bits := 1 << 16
	for bits < 16*n {
		bits <<= 1
	}
	return bits
}

// mark sets k's bit, growing the filter (and setting every key's bit
// again) when the keys outgrow it.
func (s *similar) mark(k uint64) {
	if bits := filterBits(len(s.bands)); 64*len(s.filter) < bits {
		s.filter = make([]uint64, bits/64)
		for k := range s.bands {
			s.set(k)
		}
		return
	}
	s.set(k)
}

func (s *similar) set(k uint64) {
	i := k & uint64(64*len(s.filter)-1)
	s.filter[i/64] |= 1 << (i % 64)
}

// maybe is false when no known message has band key k.
func (s *similar) maybe(k uint64) bool {
	if len(s.filter) == 0 {
		return false
	}
	i := k & uint64(64*len(s.filter)-1)
	return s.filter[i/64]&(1<<(i%64)) != 0
}

// clone copies the index, for a model that moderators' reports refine.
func (s *similar) clone() *similar {
	c := &similar{sigs: slices.Clone(s.sigs), filter: slices.Clone(s.filter)}
	c.bands = make(map[uint64][]int32, len(s.bands))
	for k, v := range s.bands {
		c.bands[k] = slices.Clone(v)
	}
	return c
}

// matchSig reports whether a message's signature is like a known
// message's: an estimated similarity of at least minSimilar to one of
// them (the signature is computed with the model's features; see
// linFeatures). It stops at the first such message: a template sent a
// hundred times has a hundred candidates in each band, and comparing all
// of them cost a copy of it 25,000 comparisons.
func (s *similar) matchSig(sig *[sigSize]uint32) bool {
	if s == nil {
		return false
	}
	for b := range sigSize / sigRows {
		k, ok := bandKey(sig, b)
		if !ok || !s.maybe(k) {
			continue
		}
		for _, id := range s.bands[k] {
			same := 0
			for i, v := range s.sigs[id] {
				if v == sig[i] {
					same++
				}
			}
			if float64(same)/sigSize >= minSimilar {
				return true
			}
		}
	}
	return false
}
