package app

import (
	"runtime/debug"
	"strings"
)

// Version is linkvault's version as the Go toolchain recorded it in the binary: the
// module version (a tag, or a pseudo-version from `go install`), else the VCS revision
// (with "-dirty" for a modified tree), else "devel".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "-dirty"
			}
		}
	}
	if rev != "" {
		return "devel-" + strings.TrimSpace(rev[:min(12, len(rev))]) + modified
	}
	return "devel"
}
