package i18n_test

import (
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/i18n"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		zh, en string
	}{
		{2 * time.Minute, "2 分钟", "2 minutes"},
		{time.Minute, "1 分钟", "1 minute"},
		{24 * time.Hour, "1 天", "1 day"},
		{7 * 24 * time.Hour, "7 天", "7 days"},
		{26*time.Hour + 30*time.Minute, "1 天 2 小时 30 分钟", "1 day 2 hours 30 minutes"},
		{time.Hour, "1 小时", "1 hour"},
		{45 * time.Second, "45 秒", "45 seconds"},
		{time.Second, "1 秒", "1 second"},
		{0, "0 秒", "0 seconds"},
	} {
		if got := i18n.Duration("zh-CN", tc.d); got != tc.zh {
			t.Errorf("zh-CN %v: %q, want %q", tc.d, got, tc.zh)
		}
		if got := i18n.Duration("en", tc.d); got != tc.en {
			t.Errorf("en %v: %q, want %q", tc.d, got, tc.en)
		}
	}
}
