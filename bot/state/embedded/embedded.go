// Package embedded starts an in-process Redis-compatible store (miniredis)
// for trying qunbot without a Redis server. It lives apart from bot/state
// so that only the binary links miniredis and its Lua interpreter; state is
// lost when the process exits.
package embedded

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// Start serves an empty store on a free loopback port. It returns the
// store's redis:// URL and a function that stops it.
func Start() (url string, stop func(), err error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return "", nil, fmt.Errorf("start embedded store: %w", err)
	}
	return "redis://" + mr.Addr() + "/0", mr.Close, nil
}
