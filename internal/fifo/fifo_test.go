package fifo

import (
	"sync"
	"testing"
)

func TestMap(t *testing.T) {
	c := New[string, int](3)
	if got := c.Add("a", 1); got != 1 {
		t.Fatalf("Add(a) = %d", got)
	}
	if got := c.Add("a", 9); got != 1 {
		t.Errorf("Add of a present key = %d, want the first value 1", got)
	}
	c.Add("b", 2)
	c.Set("c", 3)
	c.Set("a", 10) // replaces in place: a stays the oldest
	if v, ok := c.Get("a"); !ok || v != 10 {
		t.Errorf("Get(a) = %d, %v; want 10", v, ok)
	}
	c.Add("d", 4) // drops the oldest, a
	if _, ok := c.Get("a"); ok {
		t.Error("the oldest entry was not dropped")
	}
	for k, want := range map[string]int{"b": 2, "c": 3, "d": 4} {
		if v, ok := c.Get(k); !ok || v != want {
			t.Errorf("Get(%s) = %d, %v; want %d", k, v, ok, want)
		}
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
}

func TestMapConcurrent(t *testing.T) {
	c := New[int, int](64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				c.Add(g*1000+i, i)
				c.Get(i)
			}
		}()
	}
	wg.Wait()
	if c.Len() != 64 {
		t.Errorf("Len = %d after many adds, want the bound 64", c.Len())
	}
}
