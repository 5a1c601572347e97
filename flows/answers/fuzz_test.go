package answers

import "testing"

// FuzzFind: any message text, against rules of every trigger kind, neither
// panics nor reports a rule that does not exist.
func FuzzFind(f *testing.F) {
	cfg := &Config{}
	cfg.SetDefaults()
	cfg.Rules = []Rule{
		{Keywords: []string{"几点开始", "vx"}},
		{Regex: `订单号\s*\d{6,}`},
		{Similar: []string{"怎么领取新人福利"}},
		{Command: "schedule"},
	}
	cfg.Validate(func(string, string) {})
	for _, s := range []string{"几点开始？", "订单号 123456", "新人福利怎么领", "", "?", "\x00\xff", "🐧🐧", "加 v x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, all := range []bool{false, true} {
			for _, h := range Find(cfg, map[string]string{"停车": "x"}, text, "", all) {
				if h.Rule >= len(cfg.Rules) || h.Rule < -1 {
					t.Fatalf("hit of rule %d", h.Rule)
				}
			}
		}
		IsQuestion(text)
	})
}
