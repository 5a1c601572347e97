// Package adapters lists the platforms built into qunbot. Adding a
// platform is one new package under adapters/ plus one line here.
package adapters

import (
	"github.com/qunbot/qunbot/adapters/console"
	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/adapters/wecom"
	"github.com/qunbot/qunbot/bot/platform"
)

// Builtin returns the built-in platforms, in the order `run` opens them.
func Builtin() []platform.Platform {
	return []platform.Platform{
		telegram.Platform(),
		wecom.Platform(),
		console.Platform(),
	}
}
