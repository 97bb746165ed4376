// Package fifo is a bounded map that forgets its oldest entries first,
// safe for concurrent use: the process-wide caches of parsed certificates,
// verified paths, names and revocation answers, and a blob reader's
// blocks, all hold at most a fixed number of entries this way.
//
// Written here rather than taken from a library: it is twenty lines, and
// the caches need no more than insertion order (no recency tracking).
package fifo

import "sync"

// Map holds at most Max entries; adding one more drops the oldest.
type Map[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	m     map[K]V
	order []K // insertion order, oldest first
}

// New returns an empty Map holding at most n entries (at least one).
func New[K comparable, V any](n int) *Map[K, V] {
	return &Map[K, V]{max: max(n, 1), m: make(map[K]V)}
}

// Get returns the value stored under k.
func (c *Map[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

// Add stores v under k unless k is present already, and returns the value
// stored under k: v, or the one another caller added first.
func (c *Map[K, V]) Add(k K, v V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		return old
	}
	c.insert(k, v)
	return v
}

// Set stores v under k, replacing a value present (which keeps its place
// in the order).
func (c *Map[K, V]) Set(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		c.m[k] = v
		return
	}
	c.insert(k, v)
}

func (c *Map[K, V]) insert(k K, v V) {
	if len(c.order) >= c.max {
		delete(c.m, c.order[0])
		var zero K
		c.order[0] = zero // let the key go
		c.order = c.order[1:]
	}
	c.m[k] = v
	c.order = append(c.order, k)
}

// Len returns the number of entries.
func (c *Map[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
