package ers_test

import (
	"crypto"
	"crypto/sha256"
	"fmt"

	"github.com/keiyaku/keiyaku/archive/ers"
)

// ExampleBuildTree builds the hash tree of a batch of five files: one
// timestamp over Root seals them all, and each file's record carries its
// own reduced hash tree (RFC 4998 §4.2).
func ExampleBuildTree() {
	var leaves [][]byte
	for i := range 5 {
		d := sha256.Sum256(fmt.Appendf(nil, "file %d", i))
		leaves = append(leaves, d[:])
	}
	tree, err := ers.BuildTree(crypto.SHA256, leaves)
	if err != nil {
		panic(err)
	}
	for i := range leaves {
		rht := tree.Reduced(i, nil)
		fmt.Printf("file %d: %d partial hash trees, first list of %d\n", i, len(rht), len(rht[0]))
	}
	// Output:
	// file 0: 4 partial hash trees, first list of 1
	// file 1: 4 partial hash trees, first list of 1
	// file 2: 4 partial hash trees, first list of 1
	// file 3: 4 partial hash trees, first list of 1
	// file 4: 2 partial hash trees, first list of 1
}
