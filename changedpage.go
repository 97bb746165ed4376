package keiyaku

import (
	"regexp"
	"strconv"
)

// pageRef finds "page N" in the modification analysis's reasons.
var pageRef = regexp.MustCompile(`\bpage ([1-9][0-9]{0,5})\b`)

// changedPage returns the first page number named by the update's
// reasons (signature's modification analysis names a changed page's
// objects "page N /Key"), or 0.
func changedPage(reasons []string) int {
	for _, r := range reasons {
		if m := pageRef.FindStringSubmatch(r); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}
