//go:build race

package slackrender

// raceEnabled lets slow tests do less under the race detector, which makes them
// several times slower and finds nothing more in single-goroutine code.
const raceEnabled = true
