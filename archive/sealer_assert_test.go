package archive_test

import (
	"github.com/keiyaku/keiyaku/archive"
	"github.com/keiyaku/keiyaku/casework"
)

// archive implements the Sealer casework declares, without importing
// casework itself.
var _ casework.Sealer = (*archive.Service)(nil)
