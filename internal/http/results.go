package http

import (
	"net/http"
	"strconv"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/voicebot"
)

// handleCallResults stores a voice-bot platform's call results (seed 004):
// authenticated by the tenant's results secret, merged into the call found
// by session_id without letting absent fields erase stored ones, with the
// fan-out enqueued in the same transaction.
func (s *Server) handleCallResults(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	secret := r.Header.Get("X-CXBCore-Secret")
	tenant, err := s.Store.TenantByResultsSecret(ctx, secret)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		// Wrong secrets are counted against the sender's write budget, so
		// that guessing is slow.
		if ok, wait := s.limiter.allow(clientKey(r, nil)+":results-auth", true); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
			return callscope.Errorf(callscope.ERATELIMIT, "Too many requests with a wrong X-CXBCore-Secret; retry in %d s", retryAfter(wait))
		}
		if secret == "" {
			return callscope.Errorf(callscope.EFORBIDDEN, "Missing X-CXBCore-Secret header")
		}
		return callscope.Errorf(callscope.EFORBIDDEN, "Invalid X-CXBCore-Secret")
	} else if err != nil {
		return err
	}
	body, err := readJSONBody(r, bodyLimit(r))
	if err != nil {
		return err
	}
	p, err := voicebot.Parse(body)
	if err != nil {
		return err
	}
	if err := s.checkResultsURLs(ctx, p); err != nil {
		return err
	}
	if err := s.Calls.MergeResults(ctx, tenant, p); err != nil {
		return err
	}
	sid := p.String("session_id")
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "session_id": sid})
	return nil
}
