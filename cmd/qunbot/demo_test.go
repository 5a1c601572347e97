package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The demo runs a small community through the engine into the embedded
// store and reports what it recorded; its layers come out near the seeds'.
func TestDemo(t *testing.T) {
	e, out, errs := testEnv(t, "")
	if code := runCLI(context.Background(), []string{"demo", "-members", "80", "-days", "21", "-serve=false"}, e); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errs)
	}
	s := out.String()
	m := regexp.MustCompile(`recorded on \S+: members (\d+), active that day (\d+), WAU (\d+), MAU (\d+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no day record reported:\n%s", s)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	if n(1) < 60 || n(1) > 100 || n(2) == 0 || n(3) < n(2) || n(4) < n(3) || n(4) > n(1)+20 {
		t.Errorf("implausible figures (members, DAU, WAU, MAU): %v\n%s", m[1:], s)
	}
	if !strings.Contains(s, "layers as seeded") {
		t.Errorf("no seeds reported:\n%s", s)
	}
	if code := runCLI(context.Background(), []string{"demo", "-members", "3"}, e); code == 0 {
		t.Error("a demo of 3 members ran")
	}
}
