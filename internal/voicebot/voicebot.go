// Package voicebot understands the call results a voice-bot platform posts
// when a call ends (the CXB Core results webhook): the payload's fields and
// their types, the merge that never lets an absent field erase a stored one,
// the call status derived from who disconnected, the token-only LLM cache
// summary, and the transcript as call segments.
package voicebot

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/jsonx"
)

// Payload is a results document: every top-level field, raw. Fields the
// platform adds that callscope does not know are kept as they came.
type Payload map[string]json.RawMessage

// jsonType is the type a known field must have.
type jsonType int

const (
	tString jsonType = iota
	tNumber
	tBool
	tObject
	tArray
	tArrayOrObject
	tAny
)

func (t jsonType) String() string {
	return [...]string{"string", "number", "boolean", "object", "array", "array or object", "any"}[t]
}

// Fields lists the fields of CallResultsPayload and their JSON types.
var Fields = map[string]jsonType{
	"session_id": tString, "stream_id": tString, "caller_id": tString, "from_number": tString, "to_number": tString,
	"call_duration_seconds": tNumber, "disconnected_by": tString, "call_direction": tString,
	"transcript": tArray, "events": tArray, "intents": tArrayOrObject,
	"recording_url": tString, "recording_key": tString, "recording_access_token": tString,
	"post_call_analysis": tObject, "qc_analysis": tObject,
	"latency": tObject, "latency_samples": tArray, "usage_metrics": tArrayOrObject, "llm_cache_summary": tObject,
	"pipeline_config": tObject, "connected_event": tObject,
	"was_transferred": tBool, "skip_post_push": tBool,
	"campaign_id": tString, "campaign_contact_id": tString,
}

func kindOf(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func fits(t jsonType, raw json.RawMessage) bool {
	switch k := kindOf(raw); t {
	case tString:
		return k == '"'
	case tNumber:
		return k == '-' || (k >= '0' && k <= '9')
	case tBool:
		return k == 't' || k == 'f'
	case tObject:
		return k == '{'
	case tArray:
		return k == '['
	case tArrayOrObject:
		return k == '[' || k == '{'
	}
	return true
}

// Parse decodes and validates a results body. Known fields must have their
// type (null counts as absent); session_id is required. Returns EINVALID with
// one field error per problem, naming the field.
func Parse(body []byte) (Payload, error) {
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil || p == nil {
		return nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Input should be a JSON object", Type: "model_type"})
	}
	var errs []callscope.FieldError
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := p[k]
		if isNull(raw) {
			continue
		}
		t, known := Fields[k]
		if !known && strings.HasPrefix(k, "transfer_") {
			t, known = tAny, true
		}
		if known && !fits(t, raw) {
			errs = append(errs, callscope.FieldError{Loc: []string{"body", k}, Msg: "Input should be a valid " + t.String(), Type: t.String() + "_type"})
		}
	}
	if sid := p.String("session_id"); sid == "" {
		if _, ok := p["session_id"]; !ok || isNull(p["session_id"]) {
			errs = append(errs, callscope.FieldError{Loc: []string{"body", "session_id"}, Msg: "Field required", Type: "missing"})
		} else if fits(tString, p["session_id"]) {
			errs = append(errs, callscope.FieldError{Loc: []string{"body", "session_id"}, Msg: "String should have at least 1 character", Type: "string_too_short"})
		}
	} else if len(sid) > 200 || strings.ContainsAny(sid, "/?#\x00") {
		errs = append(errs, callscope.FieldError{Loc: []string{"body", "session_id"}, Msg: "session_id should have at most 200 characters and no '/', '?' or '#'", Type: "value_error"})
	}
	if len(p.String("stream_id")) > 200 {
		// The stream id becomes an id of the call, which is at most 200.
		errs = append(errs, callscope.FieldError{Loc: []string{"body", "stream_id"}, Msg: "String should have at most 200 characters", Type: "string_too_long"})
	}
	if tok := p.String("recording_access_token"); fits(tString, p["recording_access_token"]) && tok != "" {
		if msg := CheckToken(tok); msg != "" {
			errs = append(errs, callscope.FieldError{Loc: []string{"body", "recording_access_token"}, Msg: msg, Type: "value_error"})
		}
	}
	if len(errs) > 0 {
		return nil, callscope.ValidationError(errs...)
	}
	return p, nil
}

// String returns a string field, or "" when absent, null or not a string.
func (p Payload) String(k string) string {
	raw, ok := p[k]
	if !ok {
		return ""
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	// Plain ASCII without escapes, the usual case, is the string itself.
	plain := raw[len(raw)-1] == '"'
	for _, b := range raw[1 : len(raw)-1] {
		if b == '\\' || b == '"' || b < 0x20 || b >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// Number returns a number field and whether it is there.
func (p Payload) Number(k string) (float64, bool) {
	raw, ok := p[k]
	if !ok || !fits(tNumber, raw) {
		return 0, false
	}
	raw = bytes.TrimSpace(raw)
	if !validNumber(raw) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// validNumber reports whether b is a JSON number (RFC 8259 §6), which
// strconv.ParseFloat then reads exactly as encoding/json would.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i == len(b)
}

// MarshalJSON encodes the document with its fields in key order.
func (p Payload) MarshalJSON() ([]byte, error) { return jsonx.Object(p) }

// Bool returns a boolean field (false when absent).
func (p Payload) Bool(k string) bool {
	raw, ok := p[k]
	return ok && string(bytes.TrimSpace(raw)) == "true"
}

// Has reports whether a field is present and not null.
func (p Payload) Has(k string) bool {
	raw, ok := p[k]
	return ok && !isNull(raw)
}

// Merge returns stored updated with incoming, the way the platform's own
// store does it (a dump with exclude_none): fields absent from or null in
// incoming never overwrite stored values; connected_event: null is dropped;
// object fields are replaced whole.
func Merge(stored, incoming Payload) Payload {
	out := make(Payload, len(stored)+len(incoming))
	for k, v := range stored {
		out[k] = v
	}
	for k, v := range incoming {
		if isNull(v) {
			continue
		}
		out[k] = v
	}
	return out
}

// StatusFrom derives the call status from disconnected_by: error, no_answer
// and rejected mean failed; voicemail means voicemail; anything else
// (including nothing) means completed.
func StatusFrom(disconnectedBy string) callscope.CallStatus {
	switch strings.ToLower(strings.TrimSpace(disconnectedBy)) {
	case "error", "no_answer", "rejected":
		return callscope.CallFailed
	case "voicemail":
		return callscope.CallVoicemail
	}
	return callscope.CallCompleted
}

// Direction maps a platform's call_direction to a direction, or "" when it
// is not recognised.
func Direction(s string) callscope.Direction {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "inbound", "incoming", "in":
		return callscope.Inbound
	case "outbound", "outgoing", "out", "outbound-api", "outbound-dial":
		return callscope.Outbound
	}
	return ""
}

// NewToken mints a recording access token: 24 random bytes, URL-safe.
func NewToken() string {
	return base64.RawURLEncoding.EncodeToString(callscope.RandomBytes(24))
}

// Bounds of a recording access token a platform supplies. The token is the
// only key to the recording's public URL, so a supplied one must be as hard
// to guess as a minted one: at least 192 bits written in the base64url
// alphabet (32 characters, as NewToken and secrets.token_urlsafe(24) make)
// or in hex (48 characters).
const (
	MinTokenBits = 192
	MaxTokenLen  = 128
	// minTokenDistinct rejects long tokens that are plainly not random
	// ("aaaa…", "abab…"); a random token of the minimum length has fewer
	// distinct characters with negligible probability.
	minTokenDistinct = 10
)

// CheckToken says what is wrong with a supplied recording access token, or
// "" when it is acceptable: only base64url or hex characters, at least
// MinTokenBits of them (4 bits a character when all are hex digits, 6
// otherwise), at most MaxTokenLen characters, and not a visibly repetitive
// string.
func CheckToken(tok string) string {
	const rule = "recording_access_token should be 32 to 128 URL-safe random characters (A-Z, a-z, 0-9, '-', '_'; 48 or more when only hex digits), as secrets.token_urlsafe(24) makes"
	if len(tok) > MaxTokenLen {
		return rule
	}
	hexOnly := true
	seen := map[rune]bool{}
	for _, r := range tok {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f', r >= 'A' && r <= 'F':
		case r >= 'g' && r <= 'z', r >= 'G' && r <= 'Z', r == '-', r == '_':
			hexOnly = false
		default:
			return rule
		}
		seen[r] = true
	}
	bits := 6 * len(tok)
	if hexOnly {
		bits = 4 * len(tok)
	}
	if bits < MinTokenBits || len(seen) < minTokenDistinct {
		return rule
	}
	return ""
}

// Speaker maps a transcript role to callscope's speaker words.
func Speaker(role string) string {
	switch r := strings.ToLower(strings.TrimSpace(role)); r {
	case "user", "caller", "customer", "human", "client", "contact":
		return "caller"
	case "assistant", "bot", "agent", "ai", "system_agent", "model":
		return "agent"
	case "":
		return "unknown"
	default:
		return r
	}
}

// Segments turns a transcript array into call segments. Each turn may name
// its speaker as role or speaker, its words as content, text or message, and
// its times in seconds as start_time/start/timestamp and end_time/end (or
// start_ms/end_ms). Turns without words are skipped; times missing stay 0.
func Segments(transcript json.RawMessage) []callscope.Segment {
	var turns []map[string]json.RawMessage
	if json.Unmarshal(transcript, &turns) != nil {
		return nil
	}
	var out []callscope.Segment
	for _, t := range turns {
		p := Payload(t)
		text := firstString(p, "content", "text", "message", "transcript", "utterance")
		if strings.TrimSpace(text) == "" {
			continue
		}
		seg := callscope.Segment{SegmentID: len(out) + 1, Speaker: Speaker(firstString(p, "role", "speaker", "participant")), Text: strings.TrimSpace(text)}
		seg.StartTime = firstNumber(p, 1, "start_time", "start", "timestamp", "offset")
		if seg.StartTime == 0 {
			seg.StartTime = firstNumber(p, 1000, "start_ms")
		}
		seg.EndTime = firstNumber(p, 1, "end_time", "end")
		if seg.EndTime == 0 {
			seg.EndTime = firstNumber(p, 1000, "end_ms")
		}
		if seg.EndTime < seg.StartTime {
			seg.EndTime = seg.StartTime
		}
		if c, ok := p.Number("confidence"); ok && c >= 0 && c <= 1 {
			seg.Confidence = c
		}
		out = append(out, seg)
	}
	return out
}

func firstString(p Payload, keys ...string) string {
	for _, k := range keys {
		if s := p.String(k); s != "" {
			return s
		}
	}
	return ""
}

// firstNumber returns the first of keys that holds a non-negative number,
// divided by div (1000 for milliseconds).
func firstNumber(p Payload, div float64, keys ...string) float64 {
	for _, k := range keys {
		if f, ok := p.Number(k); ok && f >= 0 {
			return f / div
		}
	}
	return 0
}

// CacheSummary aggregates the post_call and qc usage entries of
// usage_metrics into token-only facts: cache_read_input_tokens,
// cache_creation_input_tokens, fresh_prompt_tokens, completion_tokens, and
// whether caching was enabled, whether it worked, and each entry's status.
// It never reports money. ok is false when there are no such entries.
//
// usage_metrics may be an object keyed by stage ({"post_call": entry or
// [entries], "qc": …}) or an array of entries carrying their stage in
// "stage", "type" or "name". An entry counts prompt tokens either
// OpenAI-style (prompt_tokens including prompt_tokens_details.cached_tokens)
// or Anthropic-style (input_tokens excluding cache reads and writes).
func CacheSummary(usage json.RawMessage) (summary map[string]any, ok bool) {
	entries := map[string][]Payload{}
	switch kindOf(usage) {
	case '{':
		var byStage map[string]json.RawMessage
		if json.Unmarshal(usage, &byStage) != nil {
			return nil, false
		}
		for stage, raw := range byStage {
			if st := stageOf(stage); st != "" {
				entries[st] = append(entries[st], asEntries(raw)...)
			}
		}
	case '[':
		for _, e := range asEntries(usage) {
			if st := stageOf(firstString(e, "stage", "type", "name", "source")); st != "" {
				entries[st] = append(entries[st], e)
			}
		}
	}
	if len(entries) == 0 {
		return nil, false
	}
	var read, create, fresh, completion int64
	enabled := false
	statuses := map[string]string{}
	for _, stage := range []string{"post_call", "qc"} {
		for i, e := range entries[stage] {
			r := intField(e, "cache_read_input_tokens")
			if r == 0 {
				r = nested(e, "prompt_tokens_details", "cached_tokens")
			}
			c := intField(e, "cache_creation_input_tokens")
			var f int64
			if e.Has("input_tokens") {
				f = intField(e, "input_tokens")
			} else {
				f = intField(e, "prompt_tokens") - r - c
			}
			if f < 0 {
				f = 0
			}
			read, create, fresh = read+r, create+c, fresh+f
			completion += max(intField(e, "completion_tokens"), intField(e, "output_tokens"))
			if e.Bool("cache_enabled") || e.Bool("prompt_caching") || r > 0 || c > 0 {
				enabled = true
			}
			key := stage
			if len(entries[stage]) > 1 {
				key = stage + "[" + strconv.Itoa(i) + "]"
			}
			st := firstString(e, "status", "cache_status")
			if st == "" {
				st = "ok"
			}
			statuses[key] = st
		}
	}
	return map[string]any{
		"enabled":                     enabled,
		"worked":                      read > 0,
		"statuses":                    statuses,
		"cache_read_input_tokens":     read,
		"cache_creation_input_tokens": create,
		"fresh_prompt_tokens":         fresh,
		"completion_tokens":           completion,
	}, true
}

func stageOf(s string) string {
	switch strings.ToLower(strings.ReplaceAll(s, "-", "_")) {
	case "post_call", "postcall", "post_call_analysis":
		return "post_call"
	case "qc", "qc_analysis", "quality_check":
		return "qc"
	}
	return ""
}

func asEntries(raw json.RawMessage) []Payload {
	switch kindOf(raw) {
	case '{':
		var e Payload
		if json.Unmarshal(raw, &e) == nil {
			return []Payload{e}
		}
	case '[':
		var es []Payload
		if json.Unmarshal(raw, &es) == nil {
			return es
		}
	}
	return nil
}

func intField(p Payload, k string) int64 {
	f, ok := p.Number(k)
	if !ok || f < 0 || f > 1e15 {
		return 0
	}
	return int64(f)
}

func nested(p Payload, obj, k string) int64 {
	var inner Payload
	if raw, ok := p[obj]; !ok || json.Unmarshal(raw, &inner) != nil {
		return 0
	}
	return intField(inner, k)
}
