package adfilter

// SameRules reports whether two scorers share their compiled rules.
func SameRules(a, b *Scorer) bool { return a.compiled == b.compiled }

// Handles counts the @names in a raw message.
func Handles(raw string) int { return handles(raw) }
