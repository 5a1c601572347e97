package adfilter

// SameRules reports whether two scorers share their compiled rules.
func SameRules(a, b *Scorer) bool { return a.compiled == b.compiled }

// LearnedSure is the P(spam) from which the model decides alone.
func (m *Model) LearnedSure() float64 { return m.sure }
