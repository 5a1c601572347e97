package adfilter

import (
	"math"
	"sync"
)

// Model is a naive Bayes spam classifier over character unigrams and
// bigrams of the match form. Features are hashed into a fixed table, so
// scoring a message is a hash and two array reads per feature, with no
// allocation; the table's log-odds are recomputed when the counts change
// (Refresh), not per message.
type Model struct {
	mu     sync.RWMutex
	spam   []uint32 // feature counts
	ham    []uint32
	docs   [2]float64 // ham, spam documents
	totals [2]float64 // ham, spam feature counts
	// computed by Refresh
	weight []float32 // log P(f|spam) - log P(f|ham), 0 for unseen features
	prior  float64
	norm   float64 // per-feature term for the classes' sizes
}

const (
	featureBits = 18
	featureMask = 1<<featureBits - 1
	alpha       = 1.0 // Laplace smoothing
)

// NewModel returns an empty model.
func NewModel() *Model {
	n := 1 << featureBits
	return &Model{spam: make([]uint32, n), ham: make([]uint32, n), weight: make([]float32, n)}
}

// features calls fn with each feature of text: every rune that is not a
// space, and every pair of neighbours.
func features(text []rune, fn func(f uint32)) {
	prev := rune(' ')
	for _, r := range text {
		if r != ' ' {
			fn(hash2(r, 0))
		}
		if !(r == ' ' && prev == ' ') {
			fn(hash2(prev, r))
		}
		prev = r
	}
	if prev != ' ' {
		fn(hash2(prev, ' '))
	}
}

func hash2(a, b rune) uint32 {
	h := uint32(2166136261)
	h = (h ^ uint32(a)) * 16777619
	h = (h ^ uint32(b)) * 16777619
	h ^= h >> 15
	return h & featureMask
}

// Learn counts a message (in match form) as spam or ham, n times (a
// negative n forgets). Call Refresh before scoring with the new counts.
func (m *Model) Learn(text []rune, spam bool, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.learn(text, spam, n)
}

func (m *Model) learn(text []rune, spam bool, n int) {
	counts, class := m.ham, 0
	if spam {
		counts, class = m.spam, 1
	}
	m.docs[class] += float64(n)
	features(text, func(f uint32) {
		c := int64(counts[f]) + int64(n)
		counts[f] = uint32(max(c, 0))
		m.totals[class] += float64(n)
	})
}

// Add merges another model's counts into this one.
func (m *Model) Add(o *Model) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.spam {
		m.spam[i] += o.spam[i]
		m.ham[i] += o.ham[i]
	}
	for c := range 2 {
		m.docs[c] += o.docs[c]
		m.totals[c] += o.totals[c]
	}
}

// Refresh recomputes the log-odds table from the counts.
func (m *Model) Refresh() {
	m.mu.Lock()
	defer m.mu.Unlock()
	vocab := 0.0
	for i := range m.spam {
		if m.spam[i]+m.ham[i] > 0 {
			vocab++
		}
	}
	for i := range m.weight {
		if m.spam[i]+m.ham[i] == 0 {
			m.weight[i] = 0
			continue
		}
		m.weight[i] = float32(math.Log(float64(m.spam[i])+alpha) - math.Log(float64(m.ham[i])+alpha))
	}
	m.norm = math.Log(m.totals[0]+alpha*vocab) - math.Log(m.totals[1]+alpha*vocab)
	m.prior = 0
	if m.docs[0] > 0 && m.docs[1] > 0 {
		m.prior = math.Log(m.docs[1]) - math.Log(m.docs[0])
	}
}

// Trained reports whether the model has seen both kinds.
func (m *Model) Trained() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.docs[0] > 0 && m.docs[1] > 0
}

// SpamProbability is P(spam | text) for a message in match form; 0.5 when
// the model knows nothing of it.
func (m *Model) SpamProbability(text []rune) float64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.docs[0] == 0 || m.docs[1] == 0 {
		return 0.5
	}
	llr := m.prior
	seen := 0
	features(text, func(f uint32) {
		if w := m.weight[f]; w != 0 || m.spam[f]+m.ham[f] > 0 {
			llr += float64(w) + m.norm
			seen++
		}
	})
	if seen == 0 {
		return 0.5
	}
	return 1 / (1 + math.Exp(-llr))
}
