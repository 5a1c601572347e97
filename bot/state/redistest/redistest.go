// Package redistest connects tests to the real Redis named by
// QUNBOT_TEST_REDIS_URL (default redis://127.0.0.1:6379/15). A test that
// needs Redis fails loudly when it is absent; it never skips.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when QUNBOT_TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/15"

// URL returns the test Redis URL.
func URL() string {
	if u := os.Getenv("QUNBOT_TEST_REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Client returns a client to the test Redis and a key prefix of the test's
// own; keys under the prefix are deleted when the test ends.
func Client(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	opt, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatalf("QUNBOT_TEST_REDIS_URL %q: %v", URL(), err)
	}
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{opt.Addr}, DB: opt.DB, Password: opt.Password, Username: opt.Username})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("this test needs Redis at %s (set QUNBOT_TEST_REDIS_URL, or run `make test`, which starts one): %v", URL(), err)
	}
	prefix := Prefix()
	t.Cleanup(func() {
		Clean(c, prefix)
		_ = c.Close()
	})
	return c, prefix
}

// Prefix returns a fresh key prefix such as "qbt-1a2b3c4d:".
func Prefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "qbt-" + hex.EncodeToString(b) + ":"
}

// Clean deletes every key under prefix.
func Clean(c redis.UniversalClient, prefix string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			c.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		c.Del(ctx, keys...)
	}
}
