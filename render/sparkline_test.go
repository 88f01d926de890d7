package render

import (
	"math"
	"testing"
)

func TestSparkline(t *testing.T) {
	tests := []struct {
		name   string
		counts []int
		want   string
	}{
		{"none", nil, ""},
		{"one", []int{5}, "█"},
		{"all zero", []int{0, 0, 0}, "   "},
		{"eight steps", []int{1, 2, 3, 4, 5, 6, 7, 8}, "▁▂▃▄▅▆▇█"},
		{"zero is a space, a little is ▁", []int{0, 1, 100, 0}, " ▁█ "},
		{"scaled to the max", []int{10, 20, 40, 80}, "▁▂▄█"},
		{"rounds up", []int{9, 16}, "▅█"},
		{"negative counts as zero", []int{-3, 4}, " █"},
		{"no overflow", []int{math.MaxInt, math.MaxInt / 2, 1}, "█▄▁"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sparkline(tt.counts); got != tt.want {
				t.Errorf("Sparkline(%v) = %q; want %q", tt.counts, got, tt.want)
			}
		})
	}
}
