package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func versionString() string {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " commit " + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("qunbot %s (%s%s)", version, runtime.Version(), rev)
}
