package correlate

// Placeholders is placeholders for the tests.
func Placeholders() []string {
	p := placeholders()
	return p[:]
}
