package keiyakutest

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// TB is the part of testing.TB the kit uses; *testing.T, *testing.B and
// *testing.F satisfy it, and so does Scope outside tests.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
}

// Scope is a TB for code that runs outside a test: an Example function,
// a demonstration program. Fatalf and Errorf panic with the message (an
// example has no test to fail); Close runs the cleanups, last registered
// first, and removes the directories TempDir made.
type Scope struct {
	mu       sync.Mutex
	cleanups []func()
}

// NewScope returns an empty Scope; call Close when done.
func NewScope() *Scope { return &Scope{} }

// Helper does nothing; it is there to satisfy TB.
func (s *Scope) Helper() {}

// Cleanup registers f to run at Close.
func (s *Scope) Cleanup(f func()) {
	s.mu.Lock()
	s.cleanups = append(s.cleanups, f)
	s.mu.Unlock()
}

// Errorf panics with the message.
func (s *Scope) Errorf(format string, args ...any) { panic(errors.New(fmt.Sprintf(format, args...))) }

// Fatalf panics with the message.
func (s *Scope) Fatalf(format string, args ...any) { panic(errors.New(fmt.Sprintf(format, args...))) }

// TempDir returns a new directory, removed with everything in it at Close.
func (s *Scope) TempDir() string {
	dir, err := os.MkdirTemp("", "keiyakutest-")
	if err != nil {
		s.Fatalf("keiyakutest: %v", err)
	}
	s.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Close runs the cleanups, last registered first.
func (s *Scope) Close() {
	s.mu.Lock()
	fs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
