package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
)

// handleCDRs merges Asterisk CDRs (one object or an array) into the calls
// they describe, found by uniqueid or linkedid and created when missing. A
// CDR fills what the call lacks; it never blanks or overrides richer data
// already stored.
func (s *Server) handleCDRs(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := readJSONBody(r, bodyLimit(r), true)
	if err != nil {
		return err
	}
	tenant, err := s.Store.Tenant(ctx, tenantID(r))
	if err != nil {
		return err
	}
	zone := time.UTC
	if name := tenant.Settings.CDRTimezone; name != "" {
		if z, err := time.LoadLocation(name); err == nil {
			zone = z
		}
	}
	var raws []json.RawMessage
	single := bytes.TrimSpace(body)[0] == '{'
	if single {
		raws = []json.RawMessage{body}
	} else if err := json.Unmarshal(body, &raws); err != nil {
		return jsonError(err, bodyLimit(r))
	}
	if len(raws) == 0 {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "List should have at least 1 item", Type: "too_short"})
	}
	if len(raws) > 10000 {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "At most 10000 CDRs per request", Type: "too_long"})
	}
	var f []callscope.FieldError
	cdrs := make([]*call.CDR, len(raws))
	for i, raw := range raws {
		loc := []string{"body"}
		if !single {
			loc = append(loc, strconv.Itoa(i))
		}
		cdrs[i] = call.ParseCDR(raw, loc, zone, &f)
	}
	if len(f) > 0 {
		return callscope.ValidationError(f...)
	}
	out, err := s.Calls.MergeCDRs(ctx, tenant.ID, cdrs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "received": len(cdrs), "calls": out})
	return nil
}
