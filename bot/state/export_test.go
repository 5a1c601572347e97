package state

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// StepScript is the script IngestSteps composes for steps.
func StepScript(s *Store, steps []Step) *redis.Script { return s.steps.get(steps) }

// SetDedupeWindow shortens how long update ids are remembered.
func SetDedupeWindow(s *Store, d time.Duration) { s.window = d }

// ForgetOldLayout makes the store's lookups skip one-key-per-update marks,
// as a store does a window after it was made.
func ForgetOldLayout(s *Store) { s.legacyUntil = time.Time{} }
