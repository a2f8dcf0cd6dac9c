package app

import (
	"runtime/debug"
	"strings"
)

// buildVersion, when set at link time (go build -ldflags "-X
// github.com/linkvault/linkvault/internal/app.buildVersion=v1.2.3"), is the version.
var buildVersion string

// Version is linkvault's version: the one set at link time, else what the Go toolchain
// recorded in the binary: the module version (a tag, or a pseudo-version from `go
// install`), else the VCS revision (with "-dirty" for a modified tree), else "devel".
func Version() string {
	if buildVersion != "" {
		return buildVersion
	}
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
