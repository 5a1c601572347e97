//go:build !(linux && cgo && msgaudit)

package wecom

import (
	"errors"
)

// archiveBuilt says whether this build can read the message archive.
const archiveBuilt = false

// openArchive: this build has no SDK.
func openArchive(_ string, _ *ArchiveConfig) (Archive, error) {
	return nil, errors.New("wecom archive: this qunbot is built without the message archive SDK; build with CGO_ENABLED=1 go build -tags msgaudit on Linux")
}
