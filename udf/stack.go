package udf

import (
	"regexp"
	"strings"
)

// pcSuffix is goja's bytecode offset after a frame's column: "f.js:3:11(13)".
var pcSuffix = regexp.MustCompile(`(:\d+:\d+)\(\d+\)`)

// cleanStack makes a JavaScript stack readable for users: one "at ..."
// frame per line, without the message line that Error.stack repeats,
// without goja's bytecode offsets and without kda's own driver frames.
func cleanStack(stack string) string {
	var out []string
	for _, line := range strings.Split(stack, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "at ") || strings.Contains(line, "__kda_") {
			continue
		}
		out = append(out, pcSuffix.ReplaceAllString(line, "$1"))
	}
	return strings.Join(out, "\n")
}
