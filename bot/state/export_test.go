package state

import "github.com/redis/go-redis/v9"

// StepScript is the script IngestSteps composes for steps.
func StepScript(s *Store, steps []Step) *redis.Script { return s.steps.get(steps) }
