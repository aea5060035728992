//go:build race

package postprocess

const raceEnabled = true
