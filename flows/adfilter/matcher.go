package adfilter

import "sort"

// Matcher finds every keyword in a text in one pass (Aho-Corasick over
// runes). The root's transitions are a direct table over the Basic
// Multilingual Plane, so the common case, a rune that starts no keyword,
// is one array read; deeper states keep sorted edge lists, short in
// practice. Matching allocates nothing.
//
// Keywords made of ASCII letters and digits match whole words only at
// their ASCII edges ("vx" matches "加vx" and "vx 123", not "novx"); CJK
// keywords match anywhere. The start edge is built into the automaton
// (see the failure links), the end edge checked as a keyword is found.
type Matcher struct {
	root  []int32 // BMP rune → state (0: stay at root)
	nodes []node
	edges []edge
	pats  []pattern
}

type node struct {
	fail       int32
	edgeStart  int32
	edgeCount  int32
	patHere    int32 // pattern ending exactly here, -1: none
	nextOutput int32 // next state on the fail chain with an output, -1: none
}

type edge struct {
	r    rune
	next int32
}

type pattern struct {
	wordEnd bool
	same    int32 // the next pattern of the same runes, -1: none
}

// Pattern is a keyword in match form. A Prefix pattern skips the
// whole-word check at its end (a contact prefix: "vx" in "vxabc123").
type Pattern struct {
	Runes  []rune
	Prefix bool
}

// NewMatcher builds a matcher for patterns; ids index the input slice.
// Empty patterns are ignored; patterns of the same runes are each
// reported (a keyword "vx" and the contact prefix "vx" both fire), each
// with its own word-edge rule.
func NewMatcher(keywords []Pattern) *Matcher {
	type tnode struct {
		children map[rune]int32
		pat      int32
	}
	trie := []tnode{{children: map[rune]int32{}, pat: -1}}
	m := &Matcher{}
	m.pats = make([]pattern, len(keywords))
	for id, p := range keywords {
		kw := p.Runes
		if len(kw) == 0 {
			continue
		}
		s := int32(0)
		for _, r := range kw {
			next, ok := trie[s].children[r]
			if !ok {
				next = int32(len(trie))
				trie = append(trie, tnode{children: map[rune]int32{}, pat: -1})
				trie[s].children[r] = next
			}
			s = next
		}
		m.pats[id] = pattern{wordEnd: !p.Prefix && isWordASCII(kw[len(kw)-1]), same: -1}
		if first := trie[s].pat; first < 0 {
			trie[s].pat = int32(id)
		} else {
			last := first
			for m.pats[last].same >= 0 {
				last = m.pats[last].same
			}
			m.pats[last].same = int32(id)
		}
	}
	m.nodes = make([]node, len(trie))
	for i, t := range trie {
		rs := make([]rune, 0, len(t.children))
		for r := range t.children {
			rs = append(rs, r)
		}
		sort.Slice(rs, func(a, b int) bool { return rs[a] < rs[b] })
		m.nodes[i] = node{edgeStart: int32(len(m.edges)), edgeCount: int32(len(rs)), patHere: t.pat, nextOutput: -1}
		for _, r := range rs {
			m.edges = append(m.edges, edge{r, t.children[r]})
		}
	}
	m.root = make([]int32, 0x10000)
	for _, e := range m.children(0) {
		if e.r < 0x10000 {
			m.root[e.r] = e.next
		}
	}
	// failure links, breadth first. A state's failure link is its longest
	// proper suffix that is a state and could start a match: not one
	// starting with an ASCII letter or digit right after another, since a
	// keyword starting so matches whole words only. Inside a Latin word,
	// the search then falls back to the root and stays there until the
	// word ends, instead of walking the keywords that start with each of
	// its letters, only to drop their matches (half the rules' time on
	// long Latin messages).
	queue := []int32{}
	last := make([]rune, len(m.nodes)) // each state's last rune
	for _, e := range m.children(0) {
		m.nodes[e.next].fail = 0
		last[e.next] = e.r
		queue = append(queue, e.next)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		glued := isWordASCII(last[s])
		for _, e := range m.children(s) {
			last[e.next] = e.r
			f := m.nodes[s].fail
			for {
				if n, ok := m.step(f, e.r); ok && (f != 0 || !glued || !isWordASCII(e.r)) {
					m.nodes[e.next].fail = n
					break
				}
				if f == 0 {
					m.nodes[e.next].fail = 0
					break
				}
				f = m.nodes[f].fail
			}
			queue = append(queue, e.next)
		}
	}
	// output chains: each state's nearest state (itself or along fail
	// links) that ends a pattern
	order := m.bfs()
	for _, s := range order {
		n := &m.nodes[s]
		if s != 0 {
			if f := m.nodes[n.fail]; f.patHere >= 0 {
				n.nextOutput = n.fail
			} else {
				n.nextOutput = f.nextOutput
			}
		}
	}
	return m
}

func (m *Matcher) children(s int32) []edge {
	n := m.nodes[s]
	return m.edges[n.edgeStart : n.edgeStart+n.edgeCount]
}

func (m *Matcher) bfs() []int32 {
	order := []int32{0}
	for i := 0; i < len(order); i++ {
		for _, e := range m.children(order[i]) {
			order = append(order, e.next)
		}
	}
	return order
}

// step follows the edge for r out of s, if there is one.
func (m *Matcher) step(s int32, r rune) (int32, bool) {
	if s == 0 && r < 0x10000 {
		n := m.root[r]
		return n, n != 0
	}
	es := m.children(s)
	lo, hi := 0, len(es)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if es[mid].r < r {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(es) && es[lo].r == r {
		return es[lo].next, true
	}
	return 0, false
}

// Match calls fn with the id and end (exclusive) of each keyword found in
// text (a keyword found several times is reported each time), and stops if
// fn returns false.
func (m *Matcher) Match(text []rune, fn func(id, end int) bool) {
	if m == nil || len(m.nodes) <= 1 {
		return
	}
	s := int32(0)
	var prev rune
	for i, r := range text {
		for {
			if s == 0 && isWordASCII(r) && isWordASCII(prev) {
				break // inside a word: no keyword starts here
			}
			if n, ok := m.step(s, r); ok {
				s = n
				break
			}
			if s == 0 {
				break
			}
			s = m.nodes[s].fail
		}
		prev = r
		for o := s; o > 0; o = m.nodes[o].nextOutput {
			for p := m.nodes[o].patHere; p >= 0; p = m.pats[p].same {
				pt := m.pats[p]
				if pt.wordEnd && i+1 < len(text) && isWordASCII(text[i+1]) {
					continue
				}
				if !fn(int(p), i+1) {
					return
				}
			}
		}
	}
}
