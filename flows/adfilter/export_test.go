package adfilter

// SameRules reports whether two scorers share their compiled rules.
func SameRules(a, b *Scorer) bool { return a.compiled == b.compiled }
