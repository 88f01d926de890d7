package bot

import "github.com/authtriage/authtriage/render"

// Sparkline draws counts as a line of Unicode block characters, as render.Sparkline
// does: one per count, the largest as █, a zero as a space, so put the line in a code
// span in Slack to keep the spaces.
func Sparkline(counts []int) string { return render.Sparkline(counts) }
