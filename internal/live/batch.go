package live

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
)

// Live calls write often and little: each utterance's segments, each call's
// progress every flush interval. With hundreds of calls at once, a commit
// each would queue them behind one another (SQLite has one writer), so
// these writes go through two small batchers that put what is waiting
// into one transaction.
const (
	// maxBatch bounds one transaction's writes.
	maxBatch = 500
	// batchTimeout bounds one batch's transaction.
	batchTimeout = time.Minute
)

// segAppend is one utterance's segments, waiting to be written.
type segAppend struct {
	s    *session
	segs []callscope.Segment
}

// progReq is one call's progress, waiting to be written; the call as
// stored (nil if gone) or the error comes back on reply.
type progReq struct {
	tick  call.LiveTick
	reply chan progReply
}

type progReply struct {
	status callscope.CallStatus
	err    error
}

func (m *Sessions) startBatchers() {
	m.batchOnce.Do(func() {
		m.segIn = make(chan segAppend, maxQueued)
		m.progIn = make(chan progReq, maxQueued)
		go m.writeSegments()
		go m.writeProgress()
	})
}

// appendSegments hands an utterance's segments to the writer; the session
// counts it as speech in progress until written.
func (s *session) appendSegments(segs []callscope.Segment) {
	s.m.startBatchers()
	s.speaking.Add(1)
	s.m.segIn <- segAppend{s: s, segs: segs}
}

func (m *Sessions) writeSegments() {
	for first := range m.segIn {
		batch := drain(m.segIn, first)
		list := make([]call.LiveAppend, len(batch))
		for i, a := range batch {
			list[i] = call.LiveAppend{TenantID: a.s.call.TenantID, CallID: a.s.call.ID, Segments: a.segs}
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		errs := m.Calls.AppendLiveSegments(ctx, list)
		cancel()
		for i, a := range batch {
			if errs[i] != nil {
				a.s.log.Warn("live transcript segments not stored", "err", errs[i])
			} else {
				n := 0
				for _, sg := range a.segs {
					n += len(sg.Text) + 1
				}
				a.s.heardText(n)
			}
			a.s.speaking.Done()
		}
	}
}

// progress stores a call's progress with the others waiting, and returns
// the call's status as stored.
func (m *Sessions) progress(ctx context.Context, t call.LiveTick) (callscope.CallStatus, error) {
	m.startBatchers()
	req := progReq{tick: t, reply: make(chan progReply, 1)}
	select {
	case m.progIn <- req:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r.status, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (m *Sessions) writeProgress() {
	for first := range m.progIn {
		batch := drain(m.progIn, first)
		// One order for every batch: two transactions writing the same
		// calls take their row locks in the same order.
		slices.SortFunc(batch, func(a, b progReq) int { return strings.Compare(a.tick.CallID, b.tick.CallID) })
		ticks := make([]call.LiveTick, len(batch))
		for i, r := range batch {
			ticks[i] = r.tick
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		statuses, err := m.Calls.LiveProgressMany(ctx, ticks)
		cancel()
		for i, r := range batch {
			rep := progReply{err: err}
			if err == nil {
				rep.status = statuses[i]
				if rep.status == "" {
					rep.err = callscope.Errorf(callscope.ENOTFOUND, "the call is gone")
				}
			}
			r.reply <- rep
		}
	}
}

// drain returns first and whatever else waits on in, up to maxBatch.
func drain[T any](in chan T, first T) []T {
	batch := []T{first}
	for len(batch) < maxBatch {
		select {
		case x := <-in:
			batch = append(batch, x)
		default:
			return batch
		}
	}
	return batch
}
