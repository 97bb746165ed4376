package casework

import (
	"bytes"
	"io"
	"os"

	"github.com/keiyaku/keiyaku/kerr"
	"github.com/keiyaku/keiyaku/storage"
)

// spooled is an upload read in full before anything is stored, so that
// every limit of a call is checked before its first write (issue 11: a
// refused registration leaves nothing behind). Up to storage.MemoryBlob
// bytes are held in memory, more in a temporary file.
type spooled struct {
	up   *Upload
	mem  []byte
	file *os.File
	size int64
}

// spool reads up.Body whole, refusing more than limit bytes (kerr.Invalid).
// The caller closes the result.
func (s *Service) spool(op string, up *Upload, limit int64) (*spooled, error) {
	head, err := readHead(up.Body, min(limit, storage.MemoryBlob)+1)
	if err != nil {
		return nil, errUnreadable(op, up.Name, err)
	}
	sp := &spooled{up: up, mem: head, size: int64(len(head))}
	if sp.size > storage.MemoryBlob && sp.size <= limit {
		if sp.file, err = os.CreateTemp(s.tmpDir, "keiyaku-upload-*"); err != nil {
			return nil, kerr.WrapKind(kerr.Unavailable, op, "cannot create a temporary file for "+up.Name, err)
		}
		if _, err := sp.file.Write(head); err != nil {
			sp.close()
			return nil, kerr.WrapKind(kerr.Unavailable, op, "spooling "+up.Name, err)
		}
		n, err := io.Copy(sp.file, io.LimitReader(up.Body, limit+1-sp.size))
		if err != nil {
			sp.close()
			return nil, errUnreadable(op, up.Name, err)
		}
		sp.mem, sp.size = nil, sp.size+n
	}
	if sp.size > limit {
		sp.close()
		return nil, errTooLarge(op, up.Name, limit)
	}
	return sp, nil
}

func (sp *spooled) reader() io.Reader {
	if sp.file != nil {
		return io.NewSectionReader(sp.file, 0, sp.size)
	}
	return bytes.NewReader(sp.mem)
}

func (sp *spooled) close() {
	if sp != nil && sp.file != nil {
		sp.file.Close()
		os.Remove(sp.file.Name())
	}
}
