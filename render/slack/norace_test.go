//go:build !race

package slackrender

const raceEnabled = false
