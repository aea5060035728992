// Package pipelineconfigs embeds the runnable example configurations, so
// `bbo demo` works from any directory and from an installed binary.
package pipelineconfigs

import "embed"

// FS holds every example configuration (*.json) by file name.
//
//go:embed *.json
var FS embed.FS
