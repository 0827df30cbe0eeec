package http

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// SettingCDRTimezone names the IANA zone of CDR times that carry no zone
// (Asterisk writes local time); UTC when unset.
const SettingCDRTimezone = "cdr_timezone"

// cdr is one Asterisk call detail record, as far as callscope reads it;
// the record is also kept whole.
type cdr struct {
	raw         map[string]json.RawMessage
	UniqueID    string
	LinkedID    string
	Src, Dst    string
	Start       *time.Time
	Answer      *time.Time
	End         *time.Time
	Duration    float64
	BillSec     float64
	Disposition string
}

var cdrTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}

// parseCDR validates one record; loc prefixes its field errors.
func parseCDR(raw json.RawMessage, loc []string, zone *time.Location, f *fields) *cdr {
	var m map[string]json.RawMessage
	if bytes.TrimSpace(raw)[0] != '{' || json.Unmarshal(raw, &m) != nil {
		f.add("Input should be a JSON object", "model_type", loc...)
		return nil
	}
	c := &cdr{raw: m}
	at := func(k string) []string { return append(append([]string{}, loc...), k) }
	str := func(k string) string {
		v, ok := m[k]
		if !ok || string(v) == "null" {
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			// Numbers are accepted where Asterisk writes them unquoted.
			if n, nerr := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64); nerr == nil {
				return strconv.FormatFloat(n, 'f', -1, 64)
			}
			f.add("Input should be a valid string", "string_type", at(k)...)
		}
		return strings.TrimSpace(s)
	}
	c.UniqueID, c.LinkedID = str("uniqueid"), str("linkedid")
	c.Src, c.Dst, c.Disposition = str("src"), str("dst"), strings.ToUpper(str("disposition"))
	if c.UniqueID == "" {
		if _, ok := m["uniqueid"]; !ok {
			f.add("Field required", "missing", at("uniqueid")...)
		} else {
			f.add("uniqueid may not be empty", "value_error", at("uniqueid")...)
		}
	} else {
		checkID(f, c.UniqueID, at("uniqueid")...)
	}
	if c.LinkedID != "" {
		checkID(f, c.LinkedID, at("linkedid")...)
	}
	for _, t := range []struct {
		k   string
		dst **time.Time
	}{{"start", &c.Start}, {"answer", &c.Answer}, {"end", &c.End}} {
		v := str(t.k)
		if v == "" || strings.HasPrefix(v, "0000-00-00") {
			continue
		}
		var parsed time.Time
		var err error
		for _, layout := range cdrTimeLayouts {
			if parsed, err = time.ParseInLocation(layout, v, zone); err == nil {
				break
			}
		}
		if err != nil {
			f.add("Input should be a date and time like 2025-10-24 08:43:35", "datetime_parsing", at(t.k)...)
			continue
		}
		ts := callscope.Timestamp(parsed)
		*t.dst = &ts
	}
	for _, n := range []struct {
		k   string
		dst *float64
	}{{"duration", &c.Duration}, {"billsec", &c.BillSec}} {
		v := str(n.k)
		if v == "" {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || x > 1e7 {
			f.add("Input should be a non-negative number of seconds", "value_error", at(n.k)...)
			continue
		}
		*n.dst = x
	}
	return c
}

// cdrStatus maps an Asterisk disposition to a final call status, or "".
func cdrStatus(disposition string) callscope.CallStatus {
	switch disposition {
	case "ANSWERED":
		return callscope.CallCompleted
	case "NO ANSWER", "NOANSWER":
		return callscope.CallNoAnswer
	case "BUSY":
		return callscope.CallBusy
	case "FAILED", "CONGESTION", "CHANUNAVAIL":
		return callscope.CallFailed
	}
	return ""
}

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
	if name, _ := tenant.Settings[SettingCDRTimezone].(string); name != "" {
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
	var f fields
	cdrs := make([]*cdr, len(raws))
	for i, raw := range raws {
		loc := []string{"body"}
		if !single {
			loc = append(loc, strconv.Itoa(i))
		}
		cdrs[i] = parseCDR(raw, loc, zone, &f)
	}
	if err := f.err(); err != nil {
		return err
	}
	type outcome struct {
		UniqueID string `json:"uniqueid"`
		CallID   string `json:"call_id"`
		ID       string `json:"id"`
		Created  bool   `json:"created"`
	}
	out := make([]outcome, len(cdrs))
	for attempt := 0; ; attempt++ {
		err = s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
			for i, c := range cdrs {
				call, created, err := s.mergeCDR(ctx, tx, tenant.ID, c)
				if err != nil {
					return err
				}
				out[i] = outcome{c.UniqueID, call.PublicID(), call.ID, created}
			}
			return nil
		})
		if callscope.ErrorCode(err) != callscope.ECONFLICT || attempt == 2 {
			break
		}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "received": len(cdrs), "calls": out})
	return nil
}

func (s *Server) mergeCDR(ctx context.Context, tx *sqlstore.Tx, tenantID string, d *cdr) (*callscope.Call, bool, error) {
	call, err := tx.Call(ctx, tenantID, d.UniqueID)
	newLeg := false
	if callscope.ErrorCode(err) == callscope.ENOTFOUND && d.LinkedID != "" && d.LinkedID != d.UniqueID {
		// Another leg of a call known by its linked id.
		call, err = tx.Call(ctx, tenantID, d.LinkedID)
		newLeg = err == nil
	}
	if err == nil && s.Store.Dialect() == sqlstore.Postgres {
		// Read again under the row's lock: CDRs and results for one call
		// may arrive at once, and each must merge into what the other wrote.
		if err = tx.LockCall(ctx, call.ID); err == nil {
			call, err = tx.Call(ctx, tenantID, call.ID)
		}
	}
	if err == nil && newLeg {
		if err := tx.AddExternalID(ctx, call, callscope.ExternalID{Kind: "pbx_uniqueid", Value: d.UniqueID}); err != nil {
			return nil, false, err
		}
	}
	created := false
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		created = true
		call = &callscope.Call{TenantID: tenantID, Direction: callscope.Inbound, Status: callscope.CallInProgress,
			ExternalIDs: []callscope.ExternalID{{Kind: "pbx_uniqueid", Value: d.UniqueID}}}
	} else if err != nil {
		return nil, false, err
	}
	prev := call.Status
	if call.From == "" {
		call.From = d.Src
	}
	if call.To == "" {
		call.To = d.Dst
	}
	if call.StartedAt == nil {
		call.StartedAt = d.Start
	}
	if call.AnsweredAt == nil {
		call.AnsweredAt = d.Answer
	}
	if call.EndedAt == nil {
		call.EndedAt = d.End
	}
	if call.DurationSeconds == 0 {
		call.DurationSeconds = d.Duration
	}
	if st := cdrStatus(d.Disposition); st != "" && !call.Status.Final() {
		call.Status = st
		if call.CompletedAt == nil && d.End != nil {
			call.CompletedAt = d.End
		}
	}
	// Keep every leg's record, one per uniqueid.
	var kept []map[string]json.RawMessage
	if raw, ok := call.Raw["cdrs"]; ok {
		_ = json.Unmarshal(raw, &kept)
	}
	replaced := false
	for i, k := range kept {
		var u string
		_ = json.Unmarshal(k["uniqueid"], &u)
		if u == d.UniqueID {
			kept[i], replaced = d.raw, true
		}
	}
	if !replaced {
		kept = append(kept, d.raw)
	}
	if call.Raw == nil {
		call.Raw = map[string]json.RawMessage{}
	}
	call.Raw["cdrs"] = rawJSON(kept)
	if created {
		if err := tx.CreateCall(ctx, call); err != nil {
			return nil, false, err
		}
	} else if err := tx.UpdateCall(ctx, call); err != nil {
		return nil, false, err
	}
	if prev != call.Status && call.Status.Final() {
		typ := callscope.EventCallCompleted
		if call.Status == callscope.CallFailed {
			typ = callscope.EventCallFailed
		}
		if _, err := s.Queue.RecordEvent(ctx, tx, call, typ, map[string]any{"call_id": call.PublicID(), "status": call.Status}); err != nil {
			return nil, false, err
		}
	}
	return call, created, nil
}
