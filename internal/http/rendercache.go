package http

import (
	"sync"
)

// renderCache keeps JSON renderings of calls, each valid while the call's
// version is the one it was rendered from (every change to a call or its
// transcript raises the version). It makes polling endpoints — the active
// sessions a monitor reads every second, a long transcript — cost one small
// version query instead of reading and encoding everything again. Bounded
// in bytes; when full it forgets entries at random.
type renderCache struct {
	mu    sync.Mutex
	m     map[renderKey]rendered
	bytes int64
	max   int64
}

type renderKey struct{ id, variant string }

type rendered struct {
	version int64
	b       []byte
}

func newRenderCache(maxBytes int64) *renderCache {
	return &renderCache{m: map[renderKey]rendered{}, max: maxBytes}
}

// get returns the rendering of a call's variant at version, if kept.
func (c *renderCache) get(id, variant string, version int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[renderKey{id, variant}]
	if !ok || r.version != version {
		return nil, false
	}
	return r.b, true
}

// put keeps a rendering; b must not be changed afterwards.
func (c *renderCache) put(id, variant string, version int64, b []byte) {
	if int64(len(b)) > c.max/8 {
		return // too large to be worth a slot
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := renderKey{id, variant}
	if old, ok := c.m[k]; ok {
		c.bytes -= int64(len(old.b))
	}
	for c.bytes+int64(len(b)) > c.max && len(c.m) > 0 {
		for victim, r := range c.m { // map order is random enough
			c.bytes -= int64(len(r.b))
			delete(c.m, victim)
			break
		}
	}
	c.m[k] = rendered{version, b}
	c.bytes += int64(len(b))
}
