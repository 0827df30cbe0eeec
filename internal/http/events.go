package http

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/feed"
)

// keepAlive is how often an idle event stream gets a comment line, so that
// proxies and clients do not take it for dead.
const keepAlive = 15 * time.Second

// feedItem is one Server-Sent Event's data: an event, a transcript
// segment or a progressive-analysis snapshot.
type feedItem struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CallID    string          `json:"call_id,omitempty"`
	CreatedAt string          `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// lastEventID is where a subscriber resumes: the Last-Event-ID header a
// reconnecting EventSource sends, or the last_event_id parameter (an
// EventSource cannot set headers on its first connection).
func lastEventID(r *http.Request) (string, error) {
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = r.URL.Query().Get("last_event_id")
	}
	if id != "" && (!strings.HasPrefix(id, "evt_") || len(id) > 64) {
		return "", callscope.Errorf(callscope.EINVALID, "Last-Event-ID %q is not an event id of this feed", id)
	}
	return id, nil
}

// handleCallEvents streams one call's feed: with no Last-Event-ID, the call's
// history first, then what happens next.
func (s *Server) handleCallEvents(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	after, err := lastEventID(r)
	if err != nil {
		return err
	}
	return s.streamFeed(w, r, c.TenantID, c.ID, after, true)
}

// handleEvents streams the tenant's feed from now (or from Last-Event-ID).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	after, err := lastEventID(r)
	if err != nil {
		return err
	}
	return s.streamFeed(w, r, tenantID(r), "", after, false)
}

func (s *Server) streamFeed(w http.ResponseWriter, r *http.Request, tenantID, callID, after string, replay bool) error {
	if s.Feed == nil {
		return callscope.Errorf(callscope.EUNAVAILABLE, "the live feed is not running on this server")
	}
	// An event stream outlives the server's write timeout.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	sub := s.Feed.Subscribe(tenantID, callID, after, replay)
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString("retry: 2000\n\n")
	if bw.Flush() != nil || rc.Flush() != nil {
		return nil
	}

	ctx := r.Context()
	items := make(chan *callscope.Event)
	errc := make(chan error, 1)
	go func() {
		for {
			e, err := sub.Next(ctx)
			if err != nil {
				errc <- err
				return
			}
			select {
			case items <- e:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case e := <-items:
			writeFeedItem(bw, e)
			// More items waiting are written before one flush.
			for more := true; more; {
				select {
				case e := <-items:
					writeFeedItem(bw, e)
				default:
					more = false
				}
			}
		case <-tick.C:
			_, _ = bw.WriteString(": keep-alive\n\n")
		case err := <-errc:
			if errors.Is(err, feed.ErrDropped) {
				// The client reconnects and resumes from its last id.
				_, _ = bw.WriteString("event: dropped\ndata: {\"detail\":\"" + err.Error() + "\"}\n\n")
				_ = bw.Flush()
				_ = rc.Flush()
			} else if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				s.Logger.WarnContext(ctx, "event stream ended", "err", err)
			}
			return nil
		case <-ctx.Done():
			return nil
		}
		if bw.Flush() != nil || rc.Flush() != nil {
			return nil // the client went away
		}
	}
}

func writeFeedItem(bw *bufio.Writer, e *callscope.Event) {
	b, err := json.Marshal(feedItem{ID: e.ID, Type: e.Type, CallID: feedCallID(e), CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano),
		Data: e.Data})
	if err != nil {
		return
	}
	_, _ = bw.WriteString("id: " + e.ID + "\nevent: " + e.Type + "\ndata: ")
	_, _ = bw.Write(b)
	_, _ = bw.WriteString("\n\n")
}

// feedCallID is the id the call's owner knows it by, as its payload names
// it, else callscope's own.
func feedCallID(e *callscope.Event) string {
	var ref callscope.CallRefData
	if json.Unmarshal(e.Data, &ref) == nil && ref.CallID != "" {
		return ref.CallID
	}
	return e.CallID
}
