package answers

import (
	"slices"
	"sync"
)

// similarIndex finds the example question most like a message by the
// Dice coefficient of their character bigrams (2|A∩B| / (|A|+|B|)), over
// an inverted index so a message only meets the examples it shares a
// bigram with.
type similarIndex struct {
	posting map[uint64][]int32
	size    []int // each example's distinct bigrams
	rule    []int
	counts  sync.Pool // *[]int32, one per concurrent lookup
}

func newSimilarIndex() *similarIndex { return &similarIndex{posting: map[uint64][]int32{}} }

// bigrams are a text's distinct pairs of neighbouring characters, spaces
// dropped, sorted; a one-character text is its own "pair". buf is reused.
func bigrams(rs []rune, buf []uint64) []uint64 {
	buf = buf[:0]
	prev := rune(-1)
	n := 0
	for _, r := range rs {
		if r == ' ' {
			continue
		}
		n++
		if prev >= 0 {
			buf = append(buf, uint64(prev)<<32|uint64(r))
		}
		prev = r
	}
	if n == 1 {
		buf = append(buf, uint64(prev)<<32)
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

func (x *similarIndex) add(rule int, rs []rune) {
	bs := bigrams(rs, nil)
	if len(bs) == 0 {
		return
	}
	id := int32(len(x.size))
	x.size = append(x.size, len(bs))
	x.rule = append(x.rule, rule)
	for _, b := range bs {
		x.posting[b] = append(x.posting[b], id)
	}
}

type scratch struct {
	counts  []int32
	touched []int32
	bigrams []uint64
}

// best answers the example most like rs: its rule and the similarity (-1
// when none shares a bigram).
func (x *similarIndex) best(rs []rune) (rule int, score float64) {
	if len(x.size) == 0 {
		return -1, -1
	}
	sc, _ := x.counts.Get().(*scratch)
	if sc == nil || len(sc.counts) < len(x.size) {
		sc = &scratch{counts: make([]int32, len(x.size))}
	}
	defer x.counts.Put(sc)
	sc.bigrams = bigrams(rs, sc.bigrams)
	if len(sc.bigrams) == 0 {
		return -1, -1
	}
	sc.touched = sc.touched[:0]
	for _, b := range sc.bigrams {
		for _, id := range x.posting[b] {
			if sc.counts[id] == 0 {
				sc.touched = append(sc.touched, id)
			}
			sc.counts[id]++
		}
	}
	rule, score = -1, -1
	for _, id := range sc.touched {
		if s := 2 * float64(sc.counts[id]) / float64(len(sc.bigrams)+x.size[id]); s > score {
			rule, score = x.rule[id], s
		}
		sc.counts[id] = 0
	}
	return rule, score
}

// similarity is the Dice coefficient of two texts' bigrams.
func similarity(a, b []rune) float64 {
	x := newSimilarIndex()
	x.add(0, b)
	_, s := x.best(a)
	return max(s, 0)
}
