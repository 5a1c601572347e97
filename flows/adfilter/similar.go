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
// 3-gram is hashed once and lands in one of sigSize bins by its top bits,
// each bin keeping its smallest hash — one multiply per 3-gram rather
// than sigSize. Empty bins stay emptyBin. ok is false for messages too
// short to compare.
func signature(text []rune) (sig [sigSize]uint32, ok bool) {
	for i := range sig {
		sig[i] = emptyBin
	}
	n := 0
	var p1, p2 rune = -1, -1
	for _, r := range text {
		if r == ' ' {
			continue
		}
		if p2 >= 0 {
			h := fhash(nsGram, p2, p1, r) * 0x9e3779b1
			h ^= h >> 16
			if bin := h >> (32 - sigBits); h < sig[bin] {
				sig[bin] = h
			}
			n++
		}
		p2, p1 = p1, r
	}
	if n == 0 {
		return sig, false
	}
	// densify: an empty bin borrows the nearest filled bin to its right,
	// shifted by the distance (Shrivastava and Li, 2014), so short messages
	// have full signatures and bands
	var dense [sigSize]uint32
	for i := range sig {
		dense[i] = sig[i]
		for d := 1; dense[i] == emptyBin; d++ {
			if v := sig[(i+d)%sigSize]; v != emptyBin {
				dense[i] = (v + uint32(d)*0x9e3779b1) | 1 // never emptyBin's value by chance... nor 0
				if dense[i] == emptyBin {
					dense[i]--
				}
			}
		}
	}
	return dense, n >= minGrams
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
		}
	}
}

// clone copies the index, for a model that moderators' reports refine.
func (s *similar) clone() *similar {
	c := &similar{sigs: slices.Clone(s.sigs)}
	c.bands = make(map[uint64][]int32, len(s.bands))
	for k, v := range s.bands {
		c.bands[k] = slices.Clone(v)
	}
	return c
}

// match reports whether text is like a known message: an estimated
// similarity of at least minSimilar to one of them. It stops at the first
// such message: a template sent a hundred times has a hundred candidates
// in each band, and comparing all of them cost a copy of it 25,000
// comparisons.
func (s *similar) match(text []rune) bool {
	if s == nil || len(s.sigs) == 0 {
		return false
	}
	sig, ok := signature(text)
	if !ok {
		return false
	}
	for b := range sigSize / sigRows {
		k, ok := bandKey(&sig, b)
		if !ok {
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
