package state

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// StepScript is the script IngestSteps composes for steps.
func StepScript(s *Store, steps []Step) *redis.Script { return s.steps.get(steps) }

// RawRecord is a member's record as stored: the fields by their names,
// core fields too.
func RawRecord(ctx context.Context, s *Store, group, id string) map[string]string {
	kv, err := s.readRecord(ctx, group, id)
	if err != nil {
		panic(err)
	}
	return kv
}

// SetDedupeWindow shortens how long update ids are remembered.
func SetDedupeWindow(s *Store, d time.Duration) { s.window = d }

// ForgetOldLayout makes the store's lookups skip one-key-per-update marks,
// as a store does a window after it was made.
func ForgetOldLayout(s *Store) { s.legacyUntil = time.Time{} }

var valueCleaner = strings.NewReplacer("\x1e", " ", "\x1f", " ")

// encodeRecord packs fields as RecordLua does (sorted, so equal records
// pack alike), for tests of the reader.
func encodeRecord(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\x1e')
		}
		if c, ok := recordCodes[k]; ok {
			b.WriteString(c)
		} else {
			b.WriteString(valueCleaner.Replace(k))
		}
		b.WriteByte('\x1f')
		v := valueCleaner.Replace(fields[k])
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && recordTimes[k] && n >= 0 {
			v = strconv.FormatInt(n, 36)
		}
		b.WriteString(v)
	}
	return b.String()
}

// IsRecordTime reports whether a field is packed as a time.
func IsRecordTime(name string) bool { return recordTimes[name] }

// IsRecordCode reports whether a field name is a short code (reserved).
func IsRecordCode(name string) bool {
	_, ok := recordNames[name]
	return ok
}

// EncodeRecord and DecodeRecord are the record codec, for its tests.
func EncodeRecord(fields map[string]string) string { return encodeRecord(fields) }

// DecodeRecord reads a packed record.
func DecodeRecord(v string) map[string]string {
	kv := map[string]string{}
	decodeRecord(v, kv)
	return kv
}
