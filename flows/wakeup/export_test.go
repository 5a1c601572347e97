package wakeup

import (
	"context"
	"time"

	"github.com/qunbot/qunbot/bot/state"
)

// ScanAndMark scans and marks every due member as sent, without sending:
// the state a day of real scans leaves, for the benchmark.
func ScanAndMark(ctx context.Context, s *state.Store, group string, cfg *Config, now time.Time) (int, error) {
	k := keys{s, group}
	return Scan(ctx, s, group, cfg, now, 0, func(due []Due) error {
		by := map[int][]Due{}
		for _, d := range due {
			by[d.Stage] = append(by[d.Stage], d)
		}
		for i, ds := range by {
			if err := markSent(ctx, k, cfg.Stages[i], ds, now); err != nil {
				return err
			}
		}
		return nil
	})
}
