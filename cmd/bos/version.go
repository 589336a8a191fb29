package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version overrides the build's module version when set with
// -ldflags "-X main.version=v1.2.3" (as make build does).
var version string

// versionString describes the binary: the version (override, else the module version Go
// stamped), the VCS revision and time, and the Go release that built it.
func versionString(override string, info *debug.BuildInfo, ok bool) string {
	v := override
	if !ok {
		if v == "" {
			v = "unknown"
		}
		return "bos " + v
	}
	if v == "" {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	var vcs []string
	if rev := settings["vcs.revision"]; rev != "" {
		vcs = append(vcs, "revision "+rev[:min(12, len(rev))])
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	s := "bos " + v
	if len(vcs) > 0 {
		s += " (" + strings.Join(vcs, ", ") + ")"
	}
	return s + " " + info.GoVersion
}

// binaryVersion is versionString for this binary.
func binaryVersion() string {
	info, ok := debug.ReadBuildInfo()
	return versionString(version, info, ok)
}

// setVersion gives root --version and makes `bos version` (without a verb) print the
// binary's version; `bos version list` stays the v2 API's version, as bos v2 version list.
func setVersion(root *cobra.Command) {
	root.Version = binaryVersion()
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().BoolP("version", "", false, "print the version of bos (module version, VCS revision, Go release)")
	for _, c := range root.Commands() {
		if c.Name() != "version" {
			continue
		}
		group := c.RunE
		c.Short = "Print the version of bos; version list: the BOS API's version (v2)"
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), binaryVersion())
				return err
			}
			return group(cmd, args)
		}
	}
}
