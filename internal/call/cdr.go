package call

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// CDR is one Asterisk call detail record, as far as callscope reads it;
// the record is also kept whole.
type CDR struct {
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

// ParseCDR reads and validates one record whose times without a zone are
// in zone; its problems are added to f, each under loc.
func ParseCDR(raw json.RawMessage, loc []string, zone *time.Location, f *[]callscope.FieldError) *CDR {
	add := func(msg, typ string, loc ...string) {
		*f = append(*f, callscope.FieldError{Loc: append([]string{}, loc...), Msg: msg, Type: typ})
	}
	var m map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(raw, &m) != nil {
		add("Input should be a JSON object", "model_type", loc...)
		return nil
	}
	c := &CDR{raw: m}
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
			add("Input should be a valid string", "string_type", at(k)...)
		}
		return strings.TrimSpace(s)
	}
	c.UniqueID, c.LinkedID = str("uniqueid"), str("linkedid")
	c.Src, c.Dst, c.Disposition = str("src"), str("dst"), strings.ToUpper(str("disposition"))
	if c.UniqueID == "" {
		if _, ok := m["uniqueid"]; !ok {
			add("Field required", "missing", at("uniqueid")...)
		} else {
			add("uniqueid may not be empty", "value_error", at("uniqueid")...)
		}
	} else {
		checkID(add, c.UniqueID, at("uniqueid")...)
	}
	if c.LinkedID != "" {
		checkID(add, c.LinkedID, at("linkedid")...)
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
			add("Input should be a date and time like 2025-10-24 08:43:35", "datetime_parsing", at(t.k)...)
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
		if err != nil || !(x >= 0 && x <= 1e7) { // also refuses NaN
			add("Input should be a non-negative number of seconds", "value_error", at(n.k)...)
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

// CDROutcome is what merging one CDR did.
type CDROutcome struct {
	UniqueID string `json:"uniqueid"`
	CallID   string `json:"call_id"`
	ID       string `json:"id"`
	Created  bool   `json:"created"`
}

// MergeCDRs merges CDRs into the calls they describe, in one transaction:
// found by uniqueid or linkedid, created when missing. A CDR fills what the
// call lacks; it never blanks or overrides richer data already stored, and
// its disposition is an observed status (callscope.NextStatus).
func (s *Service) MergeCDRs(ctx context.Context, tenantID string, cdrs []*CDR) ([]CDROutcome, error) {
	out := make([]CDROutcome, len(cdrs))
	err := retryConflicts(func() error {
		return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
			for i, c := range cdrs {
				call, created, err := s.mergeCDR(ctx, tx, tenantID, c)
				if err != nil {
					return err
				}
				out[i] = CDROutcome{c.UniqueID, call.PublicID(), call.ID, created}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) mergeCDR(ctx context.Context, tx *sqlstore.Tx, tenantID string, d *CDR) (*callscope.Call, bool, error) {
	call, err := tx.Call(ctx, tenantID, d.UniqueID)
	newLeg := false
	if callscope.ErrorCode(err) == callscope.ENOTFOUND && d.LinkedID != "" && d.LinkedID != d.UniqueID {
		// Another leg of a call known by its linked id.
		call, err = tx.Call(ctx, tenantID, d.LinkedID)
		newLeg = err == nil
	}
	if err == nil {
		// Read again under the row's lock: CDRs and results for one call
		// may arrive at once, and each must merge into what the other wrote.
		if err = tx.LockCall(ctx, call.ID); err == nil {
			call, err = tx.Call(ctx, tenantID, call.ID)
		}
	}
	if err == nil && newLeg {
		if err := tx.AddExternalID(ctx, call, callscope.ExternalID{Kind: callscope.ExtPBXUniqueID, Value: d.UniqueID}); err != nil {
			return nil, false, err
		}
	}
	created := false
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		created = true
		call = &callscope.Call{TenantID: tenantID, Direction: callscope.Inbound, Status: callscope.CallInProgress,
			ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtPBXUniqueID, Value: d.UniqueID}}}
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
	if st := cdrStatus(d.Disposition); st != "" {
		call.Status, _ = callscope.NextStatus(call.Status, st, callscope.Observed)
	}
	if call.Status != prev && call.Status.Final() {
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
		if _, err := s.Queue.RecordEvent(ctx, tx, call, callscope.CallEndedData{CallRefData: callscope.RefOf(call),
			Status: call.Status, EndedAt: call.EndedAt, DurationSeconds: call.DurationSeconds}); err != nil {
			return nil, false, err
		}
	}
	return call, created, nil
}

// checkID validates an identifier: printable, no spaces, bounded.
func checkID(add func(msg, typ string, loc ...string), v string, loc ...string) {
	if len(v) > 200 {
		add("Identifier should have at most 200 characters", "string_too_long", loc...)
		return
	}
	for _, c := range v {
		if c <= ' ' || c == 0x7f || unicode.IsSpace(c) || unicode.IsControl(c) || c == '/' || c == '?' || c == '#' {
			add("Identifier may not contain spaces, control characters, '/', '?' or '#'", "value_error", loc...)
			return
		}
	}
}
