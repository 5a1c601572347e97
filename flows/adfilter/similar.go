package adfilter

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

// sigSeeds are the hash functions (odd multipliers); fixed, so every
// replica computes the same signatures.
var sigSeeds = func() [sigSize]uint32 {
	var s [sigSize]uint32
	x := uint32(0x9e3779b9)
	for i := range s {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		s[i] = x | 1
	}
	return s
}()

// signature computes a message's MinHash; ok is false for messages too
// short to compare.
func signature(text []rune) (sig [sigSize]uint32, ok bool) {
	for i := range sig {
		sig[i] = ^uint32(0)
	}
	n := 0
	var p1, p2 rune = -1, -1
	for _, r := range text {
		if r == ' ' {
			continue
		}
		if p2 >= 0 {
			g := fhash(nsGram, p2, p1, r)
			for i, s := range sigSeeds {
				if h := (g ^ s) * s; h < sig[i] {
					sig[i] = h
				}
			}
			n++
		}
		p2, p1 = p1, r
	}
	return sig, n >= minGrams
}

func bandKey(sig *[sigSize]uint32, band int) uint64 {
	h := uint64(band+1) * 0x9e3779b97f4a7c15
	for _, v := range sig[band*sigRows : (band+1)*sigRows] {
		h = (h ^ uint64(v)) * 0x100000001b3
	}
	return h
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
		k := bandKey(&sig, b)
		s.bands[k] = append(s.bands[k], id)
	}
}

// match reports the highest estimated similarity of text to a known
// message, if it reaches minSimilar.
func (s *similar) match(text []rune) (float64, bool) {
	if s == nil || len(s.sigs) == 0 {
		return 0, false
	}
	sig, ok := signature(text)
	if !ok {
		return 0, false
	}
	best := 0.0
	for b := range sigSize / sigRows {
		for _, id := range s.bands[bandKey(&sig, b)] {
			same := 0
			for i, v := range s.sigs[id] {
				if v == sig[i] {
					same++
				}
			}
			best = max(best, float64(same)/sigSize)
		}
	}
	return best, best >= minSimilar
}
