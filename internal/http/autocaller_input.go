package http

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// scheduleFields are the fields of a schedule request the API reads; every
// other field is kept, verbatim, as a parameter for the voice provider.
var scheduleFields = map[string]bool{"userId": true, "title": true, "contactName": true, "contactPhone": true,
	"scheduledTime": true, "durationMinutes": true, "purpose": true, "aiScriptTemplate": true, "recordingEnabled": true,
	"transcriptionEnabled": true, "callbackUrl": true, "timeZone": true}

// maxProviderParams bounds the provider parameters of one call.
const maxProviderParams = 50

// scheduleInput validates a schedule request body into a call and its
// outbound state. Every problem is named by its field.
func (s *Server) scheduleInput(ctx context.Context, body []byte, tenantID string) (*callscope.Call, *callscope.OutboundCall, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Input should be a JSON object", Type: "model_type"})
	}
	if p := callscope.JSONProblem(body, true); p != nil {
		p.Loc = append([]string{"body"}, p.Loc...)
		return nil, nil, callscope.ValidationError(*p)
	}
	var f fields
	str := func(name string, required bool, max int) string {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			if required {
				f.add("Field required", "missing", "body", name)
			}
			return ""
		}
		var out string
		if json.Unmarshal(v, &out) != nil {
			f.add("Input should be a valid string", "string_type", "body", name)
			return ""
		}
		if required && strings.TrimSpace(out) == "" {
			f.add("String should not be empty", "string_too_short", "body", name)
		}
		checkText(&f, out, max, "body", name)
		return out
	}
	boolean := func(name string) bool {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			return true
		}
		var out bool
		if json.Unmarshal(v, &out) != nil {
			f.add("Input should be a valid boolean", "bool_type", "body", name)
		}
		return out
	}
	c := &callscope.Call{TenantID: tenantID, Direction: callscope.Outbound}
	o := &callscope.OutboundCall{TenantID: tenantID, DurationMinutes: callscope.DefaultCallMinutes}
	c.UserID = str("userId", true, 200)
	if c.UserID != "" {
		checkUserID(&f, c.UserID, "body", "userId")
	}
	c.Title = str("title", true, 500)
	c.ContactName = str("contactName", true, 200)
	c.To = strings.TrimSpace(str("contactPhone", true, 32))
	if c.To != "" && !callscope.ValidE164(c.To) {
		f.add("Input should be a phone number in E.164 format, such as +14155550123", "value_error", "body", "contactPhone")
	}
	if when := str("scheduledTime", true, 64); when != "" {
		t, err := time.Parse(time.RFC3339Nano, when)
		switch {
		case err != nil:
			f.add("Input should be an ISO 8601 date-time with a time zone, such as 2025-06-01T14:30:00Z", "datetime_parsing", "body", "scheduledTime")
		case t.Year() < 2000 || t.Year() > 9999:
			f.add("Input should be a date-time between the years 2000 and 9999", "value_error", "body", "scheduledTime")
		default:
			t = callscope.Timestamp(t)
			c.ScheduledAt = &t
		}
	}
	if v, ok := raw["durationMinutes"]; ok && string(v) != "null" {
		var n float64
		switch {
		case json.Unmarshal(v, &n) != nil:
			f.add("Input should be a valid integer", "int_type", "body", "durationMinutes")
		case n != float64(int(n)) || n < 1 || n > 240:
			f.add("Input should be a whole number of minutes from 1 to 240", "value_error", "body", "durationMinutes")
		default:
			o.DurationMinutes = int(n)
		}
	}
	c.Purpose = str("purpose", false, 2000)
	c.Script = str("aiScriptTemplate", false, 20000)
	o.RecordingEnabled = boolean("recordingEnabled")
	o.TranscriptionEnabled = boolean("transcriptionEnabled")
	if u := strings.TrimSpace(str("callbackUrl", false, 2048)); u != "" {
		if err := s.Egress.CheckURL(ctx, u); err != nil {
			f.add(callscope.ErrorMessage(err), "value_error", "body", "callbackUrl")
		} else {
			o.CallbackURL = u
		}
	}
	if tz := str("timeZone", false, 64); tz != "" {
		if !callscope.ValidZone(tz) {
			f.add("Unknown IANA time zone", "value_error", "body", "timeZone")
		} else {
			o.TimeZone = tz
		}
	}
	o.Provider = map[string]json.RawMessage{}
	for k, v := range raw {
		if scheduleFields[k] {
			continue
		}
		if len(o.Provider) >= maxProviderParams {
			f.add("At most 50 provider parameters", "too_long", "body", k)
			break
		}
		if len(k) > 100 || strings.ContainsAny(k, "\x00") {
			f.add("A parameter name has at most 100 characters", "value_error", "body")
			continue
		}
		o.Provider[k] = json.RawMessage(bytes.TrimSpace(v))
	}
	if err := f.err(); err != nil {
		return nil, nil, err
	}
	return c, o, nil
}
