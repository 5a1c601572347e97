package config

import (
	"testing"
	"time"
)

func TestParseDurationWeeksAndForever(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"1w", 7 * day, false}, {"2w", 14 * day, false}, {"1w2d", 9 * day, false}, {"1w2d3h", 9*day + 3*time.Hour, false},
		{"0", 0, false}, {"forever", 0, false}, {"永久", 0, false}, {"7d", 7 * day, false}, {"90s", 90 * time.Second, false},
		{"w", 0, true}, {"-1w", 0, true}, {"xw", 0, true}, {"1x", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v (bad %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
