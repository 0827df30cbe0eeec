// Package feed serves the live feed behind the Server-Sent Events
// endpoints: every replica's Hub polls the feed table (events, transcript
// segments and progressive-analysis snapshots, written by any replica) and
// hands new items to the subscribers it holds, so a subscriber on one
// replica sees what another wrote. A subscriber resumes after the last id it
// saw; one that cannot keep up is dropped, never waited for.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/callscope/callscope"
)

// Source is the feed table (sqlstore.Store implements it).
type Source interface {
	// FeedAfter returns up to limit items of every tenant with ids above
	// after, in id order.
	FeedAfter(ctx context.Context, after string, limit int) ([]*callscope.Event, error)
	// FeedOf returns up to limit of a tenant's items (of one call, or of
	// all when callID is "") with ids above after, in id order.
	FeedOf(ctx context.Context, tenantID, callID, after string, limit int) ([]*callscope.Event, error)
	// PruneFeed deletes the items created before before.
	PruneFeed(ctx context.Context, before time.Time) (int64, error)
}

// Defaults of Hub's settings.
const (
	// DefaultPoll is how often the hub looks for new items when nothing
	// woke it: the delay of an item another replica wrote.
	DefaultPoll = 100 * time.Millisecond
	// DefaultSettle is how late an item may become visible after the time
	// in its id (a long transaction, replicas' clocks apart): the hub
	// looks that far back again, so such an item is still delivered.
	DefaultSettle = 3 * time.Second
	// DefaultBuffer is how many items a subscriber may fall behind by
	// before it is dropped.
	DefaultBuffer = 1024
	// DefaultRetention is how long items stay in the feed to resume from.
	DefaultRetention = 24 * time.Hour

	pageSize     = 500
	maxReplay    = 20000
	pruneEvery   = 10 * time.Minute
	settleEvery  = time.Second
	pollBackoff  = 2 * time.Second
	sentKeepSpan = 4
)

// ErrDropped is what Next returns to a subscriber that fell more than the
// buffer behind: it was dropped and should resume with its last id.
var ErrDropped = errors.New("subscriber fell behind and was dropped; resume with Last-Event-ID")

// Hub hands the feed's new items to its subscribers. Set the fields before
// Run.
type Hub struct {
	Source Source
	// Poll, Settle, Buffer and Retention, when not zero, replace the
	// defaults above.
	Poll      time.Duration
	Settle    time.Duration
	Buffer    int
	Retention time.Duration
	Logger    *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	cursor string               // the highest id handed out
	seen   map[string]time.Time // ids handed out within the settle span
	wake   chan struct{}
	once   sync.Once
}

func (h *Hub) init() {
	h.once.Do(func() {
		h.subs = map[*Subscription]struct{}{}
		h.seen = map[string]time.Time{}
		h.wake = make(chan struct{}, 1)
	})
}

func (h *Hub) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

func (h *Hub) settle() time.Duration {
	if h.Settle > 0 {
		return h.Settle
	}
	return DefaultSettle
}

func (h *Hub) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// IDAt is the lowest id an item created at t can have: ids are "evt_" and
// a version 7 UUID, whose first 48 bits are the Unix time in milliseconds.
func IDAt(t time.Time) string {
	ms := max(0, t.UnixMilli())
	return fmt.Sprintf("evt_%08x-%04x", uint64(ms)>>16, uint64(ms)&0xffff)
}

// Subscribers counts the subscriptions the hub holds.
func (h *Hub) Subscribers() int {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Wake makes the hub look for new items now; call it when this process
// committed some. It never blocks.
func (h *Hub) Wake() {
	h.init()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run polls the feed until ctx ends, handing new items to the subscribers.
func (h *Hub) Run(ctx context.Context) {
	h.init()
	h.mu.Lock()
	h.cursor = IDAt(h.now().Add(-h.settle()))
	h.mu.Unlock()
	every := h.Poll
	if every <= 0 {
		every = DefaultPoll
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var lastSettle, lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			h.closeAll()
			return
		case <-t.C:
		case <-h.wake:
		}
		now := h.now()
		from := ""
		if now.Sub(lastSettle) >= settleEvery {
			from, lastSettle = IDAt(now.Add(-h.settle())), now
		}
		if err := h.poll(ctx, from); err != nil && ctx.Err() == nil {
			h.logger().Warn("live feed: poll failed", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(pollBackoff):
			}
		}
		if now.Sub(lastPrune) >= pruneEvery {
			lastPrune = now
			h.prune(ctx, now)
		}
	}
}

// poll reads the items above the cursor (or above from, when it is set and
// lower: the settle pass) and hands those not handed out before to the
// subscribers.
func (h *Hub) poll(ctx context.Context, from string) error {
	h.mu.Lock()
	after := h.cursor
	h.mu.Unlock()
	if from != "" && from < after {
		after = from
	}
	for {
		items, err := h.Source.FeedAfter(ctx, after, pageSize)
		if err != nil {
			return err
		}
		h.handOut(items)
		if len(items) < pageSize {
			return nil
		}
		after = items[len(items)-1].ID
	}
}

func (h *Hub) handOut(items []*callscope.Event) {
	if len(items) == 0 {
		return
	}
	now := h.now()
	floor := IDAt(now.Add(-h.settle()))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range items {
		if _, dup := h.seen[e.ID]; dup {
			continue
		}
		if e.ID >= floor {
			h.seen[e.ID] = now
		} else if e.ID <= h.cursor {
			continue // below the settle span and handed out before
		}
		if e.ID > h.cursor {
			h.cursor = e.ID
		}
		for s := range h.subs {
			if s.wants(e) {
				s.push(e)
			}
		}
	}
	for id := range h.seen {
		if id < floor {
			delete(h.seen, id)
		}
	}
}

func (h *Hub) prune(ctx context.Context, now time.Time) {
	keep := h.Retention
	if keep <= 0 {
		keep = DefaultRetention
	}
	n, err := h.Source.PruneFeed(ctx, now.Add(-keep))
	if err != nil {
		h.logger().Warn("live feed: pruning failed", "err", err)
	} else if n > 0 {
		h.logger().Debug("live feed pruned", "items", n, "older_than", keep.String())
	}
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.close(context.Canceled)
	}
	clear(h.subs)
}

func (h *Hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// Subscribe returns a subscription to the tenant's items: those of one
// call (by its own id), or all the tenant's when callID is "". With after
// set, it first replays the items above that id; with replay and no
// after, it replays the call's whole feed; otherwise it starts with what
// comes next. Close it when done.
func (h *Hub) Subscribe(tenantID, callID, after string, replay bool) *Subscription {
	h.init()
	buf := h.Buffer
	if buf <= 0 {
		buf = DefaultBuffer
	}
	s := &Subscription{h: h, tenantID: tenantID, callID: callID, buffer: buf,
		signal: make(chan struct{}, 1), sent: map[string]struct{}{}}
	if after != "" || replay {
		s.replaying, s.replayAfter, s.after = true, after, after
	}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Subscription is one subscriber's view of the feed.
type Subscription struct {
	h        *Hub
	tenantID string
	callID   string
	buffer   int

	// Replay, read by Next alone.
	after       string // the id resumed after: nothing at or below it
	replaying   bool
	replayAfter string
	replayed    int
	backlog     []*callscope.Event
	sent        map[string]struct{} // ids handed out lately, to skip repeats

	mu     sync.Mutex
	queue  []*callscope.Event
	err    error
	signal chan struct{}
}

func (s *Subscription) wants(e *callscope.Event) bool {
	return e.TenantID == s.tenantID && (s.callID == "" || e.CallID == s.callID)
}

// push queues a live item; the hub holds its lock.
func (s *Subscription) push(e *callscope.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if len(s.queue) >= s.buffer {
		s.err = ErrDropped
		s.queue = nil
		delete(s.h.subs, s) // the hub holds its lock
	} else {
		s.queue = append(s.queue, e)
	}
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *Subscription) close(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.h.remove(s)
	s.close(context.Canceled)
}

// Next returns the next item, waiting for one until ctx ends. It returns
// ErrDropped once the subscriber fell too far behind.
func (s *Subscription) Next(ctx context.Context) (*callscope.Event, error) {
	for {
		e, err := s.next(ctx)
		if err != nil || e == nil {
			return e, err
		}
		if _, dup := s.sent[e.ID]; dup || e.ID <= s.after {
			continue
		}
		s.remember(e.ID)
		return e, nil
	}
}

func (s *Subscription) next(ctx context.Context) (*callscope.Event, error) {
	if s.replaying && len(s.backlog) == 0 {
		page, err := s.h.Source.FeedOf(ctx, s.tenantID, s.callID, s.replayAfter, pageSize)
		if err != nil {
			return nil, err
		}
		s.backlog = page
		s.replayed += len(page)
		if len(page) < pageSize || s.replayed >= maxReplay {
			s.replaying = false
		}
		if len(page) > 0 {
			s.replayAfter = page[len(page)-1].ID
		}
	}
	if len(s.backlog) > 0 {
		e := s.backlog[0]
		s.backlog = s.backlog[1:]
		return e, nil
	}
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			e := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return e, nil
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.signal:
		}
	}
}

// remember keeps the ids handed out lately: a replayed item may also
// arrive live, and must be handed out once.
func (s *Subscription) remember(id string) {
	s.sent[id] = struct{}{}
	if len(s.sent) > s.buffer*sentKeepSpan {
		floor := IDAt(s.h.now().Add(-2 * s.h.settle()))
		for k := range s.sent {
			if k < floor {
				delete(s.sent, k)
			}
		}
	}
}
