package state

import (
	"context"
	"sort"
)

// disabledKey is the set of commands a group's moderators turned off for
// its members (/disable).
func (s *Store) disabledKey(group string) string { return s.Key(group, "disabled") }

// DisabledFragment answers, inside the ingest script, whether the update's
// command is turned off in its group: the check costs a member's command
// no round trip of its own (see Disabled for the one that does).
var DisabledFragment = &Fragment{Name: "disabled", Lua: `return {redis.call('SISMEMBER', KEYS[1], ARGV[1])}`}

// DisabledStep is DisabledFragment's step for a command in a group.
func (s *Store) DisabledStep(group, command string) *Step {
	return &Step{Fragment: DisabledFragment, Keys: []string{s.disabledKey(group)}, Args: []any{command}}
}

// Disabled reports whether a command is turned off for the group's members.
func (s *Store) Disabled(ctx context.Context, group, command string) (bool, error) {
	on, err := s.rdb.SIsMember(ctx, s.disabledKey(group), command).Result()
	return on, wrap("read disabled commands", err)
}

// DisabledCommands lists the commands turned off in a group, sorted.
func (s *Store) DisabledCommands(ctx context.Context, group string) ([]string, error) {
	cmds, err := s.rdb.SMembers(ctx, s.disabledKey(group)).Result()
	sort.Strings(cmds)
	return cmds, wrap("read disabled commands", err)
}

// SetDisabled turns commands off (or back on) for a group's members and
// answers how many changed.
func (s *Store) SetDisabled(ctx context.Context, group string, off bool, commands ...string) (int, error) {
	if len(commands) == 0 {
		return 0, nil
	}
	args := make([]any, len(commands))
	for i, c := range commands {
		args[i] = c
	}
	var n int64
	var err error
	if off {
		n, err = s.rdb.SAdd(ctx, s.disabledKey(group), args...).Result()
	} else {
		n, err = s.rdb.SRem(ctx, s.disabledKey(group), args...).Result()
	}
	return int(n), wrap("change disabled commands", err)
}
