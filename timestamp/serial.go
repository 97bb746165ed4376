package timestamp

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// SerialStore hands out token serial numbers. Next must return a positive
// number of at most 160 bits that the TSA never gave before, also across
// restarts and across processes sharing the TSA's key (RFC 3161 §2.4.2
// requires serials unique per TSA), and must be safe for concurrent use:
// counting stores return a number greater than every one before
// (MemorySerialStore, FileSerialStore); RandomSerialStore draws 159 random
// bits, unique without any shared state.
type SerialStore interface {
	Next(ctx context.Context) (*big.Int, error)
}

// MemorySerialStore counts up in memory from a start value; for tests and
// for TSAs whose serials are made unique some other way. Safe for
// concurrent use.
type MemorySerialStore struct {
	mu   sync.Mutex
	last *big.Int
}

// NewMemorySerialStore returns a store whose first serial is last+1.
func NewMemorySerialStore(last int64) *MemorySerialStore {
	return &MemorySerialStore{last: big.NewInt(last)}
}

// Next returns the next serial.
func (m *MemorySerialStore) Next(ctx context.Context) (*big.Int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = new(big.Int).Add(m.last, big.NewInt(1))
	return new(big.Int).Set(m.last), nil
}

// FileSerialStore persists serials in a file (decimal text): the file
// holds the highest serial that may have been handed out. Serials are
// reserved SerialBlock at a time: when a block is used up, the new ceiling
// is written to a temporary file, fsynced, renamed over the old one and the
// directory fsynced, before any serial of the new block is returned. After
// a crash or a restart, numbering resumes above the ceiling, so a serial is
// never handed out twice and serials always increase (the unused rest of a
// block is skipped). Only one process may use a file at a time. Safe for
// concurrent use within that process.
type FileSerialStore struct {
	mu       sync.Mutex
	path     string
	last     *big.Int
	reserved *big.Int
}

// SerialBlock is how many serials FileSerialStore reserves with one write:
// a TSA stamping many tokens a second then pays one fsync per block, not
// one per token.
const SerialBlock = 256

// maxSerialFile bounds the serial file we read: a serial is at most 20
// octets (RFC 3161 §2.4.2 via RFC 5280 practice), about 49 decimal digits.
const maxSerialFile = 128

// NewFileSerialStore opens (or starts, when path does not exist) the
// serial file at path. A file that holds anything but a non-negative
// decimal integer is an error.
func NewFileSerialStore(path string) (*FileSerialStore, error) {
	s := &FileSerialStore{path: path, last: new(big.Int), reserved: new(big.Int)}
	b, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("timestamp: serial file: %w", err)
	}
	txt := strings.TrimSpace(string(b))
	if len(txt) > maxSerialFile {
		return nil, fmt.Errorf("timestamp: serial file %s: longer than %d bytes", path, maxSerialFile)
	}
	if _, ok := s.last.SetString(txt, 10); !ok || s.last.Sign() < 0 {
		return nil, fmt.Errorf("timestamp: serial file %s does not hold a non-negative decimal number", path)
	}
	s.reserved.Set(s.last)
	return s, nil
}

// Next returns the next serial after persisting it.
func (s *FileSerialStore) Next(ctx context.Context) (*big.Int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := new(big.Int).Add(s.last, big.NewInt(1))
	if next.Cmp(s.reserved) > 0 {
		ceiling := new(big.Int).Add(s.last, big.NewInt(SerialBlock))
		if err := writeFileSync(s.path, []byte(ceiling.String()+"\n")); err != nil {
			return nil, fmt.Errorf("timestamp: persisting serial: %w", err)
		}
		s.reserved = ceiling
	}
	s.last = next
	return new(big.Int).Set(next), nil
}

func writeFileSync(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// RandomSerialStore draws each serial at random: 159 bits from
// crypto/rand (positive, within RFC 3161's 160). Several processes sharing
// one TSA key (several servers on one database) get unique serials with
// no shared counter: among 2^40 tokens (a trillion) the chance that any
// two collide is below 2^-78. Serials do not grow with time; nothing in
// RFC 3161 asks them to. Safe for concurrent use; the zero value is ready.
type RandomSerialStore struct{}

// Next returns a random serial.
func (RandomSerialStore) Next(ctx context.Context) (*big.Int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var b [20]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("timestamp: random serial: %w", err)
		}
		b[0] &= 0x7f // 159 bits
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}
