package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
)

// The Auto-Caller API (seed 002): outbound calls of a web app's users,
// camelCase, under a configurable prefix. Every request names the userId it
// acts for; inside the API key's tenant, a call of another user is as
// unknown as a call that does not exist (404). Its contract answers 400 for
// invalid input, so validation errors become 400 here, naming the field.

// DefaultAutocallerPrefix is where the Auto-Caller API is served unless
// configured otherwise.
const DefaultAutocallerPrefix = "/autocaller"

// Outbound places and changes outbound calls. *dial.Engine implements it.
type Outbound interface {
	Schedule(ctx context.Context, c *callscope.Call, o *callscope.OutboundCall, idem call.Idempotency) (*call.ScheduleAnswer, bool, error)
	Start(ctx context.Context, tenantID, userID, ref string, idem call.Idempotency) (*call.Placement, bool, error)
	End(ctx context.Context, tenantID, userID, ref string) (*callscope.OutboundCall, error)
	Cancel(ctx context.Context, tenantID, userID, ref string, idem call.Idempotency) (*call.CancelAnswer, bool, error)
}

// CallbackService keeps the tenants' callback credentials and replays
// callbacks. *deliver.Callbacks implements it.
type CallbackService interface {
	// RotateCallbackSecret gives the tenant new callback credentials and
	// returns them; they are shown once.
	RotateCallbackSecret(ctx context.Context, tenantID string) (token, signingSecret string, err error)
	// HasCallbackSecret reports whether the tenant has callback
	// credentials.
	HasCallbackSecret(ctx context.Context, tenantID string) (bool, error)
	// ReplayCallback sends a finished callback delivery again.
	ReplayCallback(ctx context.Context, tenantID, deliveryID string) (*callscope.WebhookDelivery, error)
}

func (s *Server) autocallerPrefix() string {
	if s.AutocallerPrefix == "" {
		return DefaultAutocallerPrefix
	}
	return s.AutocallerPrefix
}

func (s *Server) outbound() (Outbound, error) {
	if s.Outbound == nil {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "Outbound calling is not configured on this server")
	}
	return s.Outbound, nil
}

// idempotencyOf reads the Idempotency-Key header and digests the request
// it came with.
func idempotencyOf(r *http.Request, body []byte) (call.Idempotency, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return call.Idempotency{}, nil
	}
	if len(key) > 255 {
		return call.Idempotency{}, badRequest("Idempotency-Key should have at most 255 characters", "string_too_long", "header", "Idempotency-Key")
	}
	for _, c := range key {
		if c < 0x21 || c > 0x7e {
			return call.Idempotency{}, badRequest("Idempotency-Key should be printable ASCII", "value_error", "header", "Idempotency-Key")
		}
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return call.Idempotency{Key: key, RequestHash: hex.EncodeToString(h.Sum(nil))}, nil
}

func badRequest(msg, typ string, loc ...string) error {
	return &callscope.Error{Code: callscope.EBADREQUEST, Message: msg, Fields: []callscope.FieldError{{Loc: loc, Msg: msg, Type: typ}}}
}

// checkUserID validates a userId found at loc.
func checkUserID(f *fields, v string, loc ...string) {
	switch {
	case strings.TrimSpace(v) == "":
		f.add("Field required", "missing", loc...)
	case len(v) > 200:
		f.add("String should have at most 200 characters", "string_too_long", loc...)
	default:
		for _, c := range v {
			if c < 0x20 || c == 0x7f {
				f.add("userId should not contain control characters", "value_error", loc...)
				return
			}
		}
	}
}

// userOfQuery reads the userId query parameter of a GET.
func userOfQuery(r *http.Request) (string, error) {
	var f fields
	u := r.URL.Query().Get("userId")
	checkUserID(&f, u, "query", "userId")
	return u, asBadRequest(f.err())
}

// userBody is the body of start, end and cancel: {userId}. Other fields are
// refused (start's "override parameters" are not supported).
type userBody struct {
	UserID *string `json:"userId"`
}

// readUserBody reads {userId} from the body, or, for a DELETE without a
// body, from the userId query parameter. It returns the raw body for the
// Idempotency-Key digest.
func (s *Server) readUserBody(r *http.Request) (string, []byte, error) {
	if r.Method == http.MethodDelete && (r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0) && r.URL.Query().Has("userId") {
		u, err := userOfQuery(r)
		return u, nil, err
	}
	body, err := readJSONBody(r, bodyLimit(r))
	if err != nil {
		return "", nil, asBadRequest(err)
	}
	var in userBody
	if err := callscope.DecodeStrict(body, &in, "body"); err != nil {
		return "", nil, asBadRequest(err)
	}
	var f fields
	u := ""
	if in.UserID != nil {
		u = *in.UserID
	}
	checkUserID(&f, u, "body", "userId")
	return u, body, asBadRequest(f.err())
}

func callRef(r *http.Request) (string, error) {
	id := r.PathValue("call_id")
	var f fields
	checkID(&f, id, "path", "call_id")
	return id, asBadRequest(f.err())
}

// replayed marks an answer repeated for an Idempotency-Key.
func replayed(w http.ResponseWriter, again bool) {
	if again {
		w.Header().Set("Idempotent-Replayed", "true")
	}
}

func (s *Server) handleAutoSchedule(w http.ResponseWriter, r *http.Request) error {
	out, err := s.outbound()
	if err != nil {
		return err
	}
	body, err := readJSONBody(r, bodyLimit(r))
	if err != nil {
		return asBadRequest(err)
	}
	idem, err := idempotencyOf(r, body)
	if err != nil {
		return err
	}
	c, o, err := s.scheduleInput(r.Context(), body, tenantID(r))
	if err != nil {
		return asBadRequest(err)
	}
	if o.CallbackURL != "" {
		ok := false
		if s.Callbacks != nil {
			if ok, err = s.Callbacks.HasCallbackSecret(r.Context(), c.TenantID); err != nil {
				return err
			}
		}
		if !ok {
			return badRequest("callbackUrl needs the tenant's callback secret: create it first with POST "+s.autocallerPrefix()+"/callback-secret",
				"value_error", "body", "callbackUrl")
		}
	}
	ans, again, err := out.Schedule(r.Context(), c, o, idem)
	if err != nil {
		return asBadRequest(err)
	}
	replayed(w, again)
	writeJSON(w, http.StatusCreated, map[string]any{"callId": ans.CallID, "status": ans.Status, "scheduledTime": autoTime(ans.ScheduledTime)})
	return nil
}

// autoCallRequest is what a request that changes one Auto-Caller call
// names: the outbound service, the call, its owner and the request's
// Idempotency-Key.
type autoCallRequest struct {
	out       Outbound
	ref, user string
	idem      call.Idempotency
}

// readAutoCall reads the call, the userId and the Idempotency-Key of a
// request that changes one Auto-Caller call.
func (s *Server) readAutoCall(r *http.Request) (*autoCallRequest, error) {
	out, err := s.outbound()
	if err != nil {
		return nil, err
	}
	ref, err := callRef(r)
	if err != nil {
		return nil, err
	}
	user, body, err := s.readUserBody(r)
	if err != nil {
		return nil, err
	}
	idem, err := idempotencyOf(r, body)
	if err != nil {
		return nil, err
	}
	return &autoCallRequest{out: out, ref: ref, user: user, idem: idem}, nil
}

func (s *Server) handleAutoStart(w http.ResponseWriter, r *http.Request) error {
	q, err := s.readAutoCall(r)
	if err != nil {
		return err
	}
	p, again, err := q.out.Start(r.Context(), tenantID(r), q.user, q.ref, q.idem)
	if err != nil {
		return err
	}
	replayed(w, again)
	writeJSON(w, http.StatusOK, map[string]any{"callId": p.Start.CallID, "status": p.Start.Status,
		"startTime": autoTime(p.Start.StartTime), "sessionDetails": sessionDetails(p.Outbound, nil)})
	return nil
}

func (s *Server) handleAutoEnd(w http.ResponseWriter, r *http.Request) error {
	q, err := s.readAutoCall(r)
	if err != nil {
		return err
	}
	o, err := q.out.End(r.Context(), tenantID(r), q.user, q.ref)
	if err != nil {
		return err
	}
	status := "ending"
	if o.Call.Status.Final() {
		status = callscope.AutoStatus(o.Call.Status)
	}
	writeJSON(w, http.StatusOK, map[string]any{"callId": o.Call.PublicID(), "status": status})
	return nil
}

func (s *Server) handleAutoCancel(w http.ResponseWriter, r *http.Request) error {
	q, err := s.readAutoCall(r)
	if err != nil {
		return err
	}
	_, again, err := q.out.Cancel(r.Context(), tenantID(r), q.user, q.ref, q.idem)
	if err != nil {
		return err
	}
	replayed(w, again)
	writeJSON(w, http.StatusOK, map[string]any{"message": "Call cancelled successfully"})
	return nil
}

// userCall reads an outbound call of the request's user. Returns ENOTFOUND
// for an unknown call, a call that is not outbound, or another user's.
func (s *Server) userCall(r *http.Request) (*callscope.OutboundCall, error) {
	ref, err := callRef(r)
	if err != nil {
		return nil, err
	}
	user, err := userOfQuery(r)
	if err != nil {
		return nil, err
	}
	o, err := s.Store.OutboundCall(r.Context(), tenantID(r), ref)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND || (err == nil && o.Call.UserID != user) {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "Call not found")
	}
	return o, err
}

func (s *Server) handleAutoStatus(w http.ResponseWriter, r *http.Request) error {
	o, err := s.userCall(r)
	if err != nil {
		return err
	}
	var snippets []callscope.Segment
	if o.Call.Status.Live() {
		if snippets, err = s.Store.Segments(r.Context(), o.CallID); err != nil {
			return err
		}
	}
	v := timesOf(o.Call)
	v["callId"], v["status"] = o.Call.PublicID(), callscope.AutoStatus(o.Call.Status)
	v["sessionDetails"] = sessionDetails(o, snippets)
	if o.Call.ErrorInfo != "" {
		v["errorInfo"] = o.Call.ErrorInfo
	}
	if o.Waiting != "" {
		v["statusDetail"] = o.Waiting
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) handleAutoDetails(w http.ResponseWriter, r *http.Request) error {
	o, err := s.userCall(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	c := o.Call
	v := timesOf(c)
	v["callId"], v["userId"], v["title"], v["contactName"], v["contactPhone"] = c.PublicID(), c.UserID, c.Title, c.ContactName, c.To
	v["status"], v["purpose"], v["scheduledTime"] = callscope.AutoStatus(c.Status), c.Purpose, autoTimePtr(c.ScheduledAt)
	v["durationMinutes"], v["recordingEnabled"], v["transcriptionEnabled"] = o.DurationMinutes, o.RecordingEnabled, o.TranscriptionEnabled
	if c.Script != "" {
		v["aiScriptTemplate"] = c.Script
	}
	if o.CallbackURL != "" {
		v["callbackUrl"] = o.CallbackURL
	}
	recs, err := s.Store.Recordings(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.AccessToken != "" {
			v["recordingUrl"] = s.publicURL(r, call.RecordingPath(rec.AccessToken))
			break
		}
	}
	segs, err := s.Store.Segments(ctx, c.ID)
	if err != nil {
		return err
	}
	if len(segs) > 0 {
		v["transcriptionText"] = transcriptText(segs)
	}
	if sum := summaryText(c.Summary); sum != "" {
		v["aiSummary"] = sum
	}
	if c.ErrorInfo != "" {
		v["errorInfo"] = c.ErrorInfo
	}
	if o.Cost != nil {
		v["cost"] = *o.Cost
	}
	if o.Waiting != "" {
		v["statusDetail"] = o.Waiting
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// autoSorts maps the list's sortBy values to the store's orders.
var autoSorts = map[string]string{"": callscope.SortScheduledTime, "scheduledTime": callscope.SortScheduledTime,
	"createdAt": callscope.SortCreatedAt, "startTime": callscope.SortStartTime, "durationSeconds": callscope.SortDuration}

func (s *Server) handleAutoList(w http.ResponseWriter, r *http.Request) error {
	user, err := userOfQuery(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	oq := callscope.OutboundQuery{TenantID: tenantID(r), UserID: user, Limit: 50}
	var f fields
	if v := q.Get("status"); v != "" {
		sts, ok := callscope.CallStatusesOf(v)
		if !ok {
			f.add("Input should be one of: "+strings.Join(callscope.AutoStatuses, ", "), "enum", "query", "status")
		}
		oq.Statuses = sts
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &oq.Limit, callscope.MaxPageSize}, {"offset", &oq.Offset, 1 << 30}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > p.max || (p.name == "limit" && n == 0) {
			f.add("Input should be an integer from "+map[bool]string{true: "1", false: "0"}[p.name == "limit"]+" to "+strconv.Itoa(p.max), "value_error", "query", p.name)
			continue
		}
		*p.dst = n
	}
	sort, ok := autoSorts[q.Get("sortBy")]
	if !ok {
		f.add("Input should be one of: scheduledTime, createdAt, startTime, durationSeconds", "enum", "query", "sortBy")
	}
	oq.Sort = sort
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		oq.Ascending = true
	default:
		f.add("Input should be asc or desc", "enum", "query", "order")
	}
	if err := f.err(); err != nil {
		return asBadRequest(err)
	}
	list, total, err := s.Store.OutboundCalls(r.Context(), oq)
	if err != nil {
		return err
	}
	calls := make([]map[string]any, 0, len(list))
	for _, o := range list {
		c := o.Call
		item := map[string]any{"callId": c.PublicID(), "title": c.Title, "contactName": c.ContactName,
			"contactPhone": c.To, "scheduledTime": autoTimePtr(c.ScheduledAt), "status": callscope.AutoStatus(c.Status)}
		if c.Status.Final() && c.AnsweredAt != nil {
			item["durationSeconds"] = int(c.DurationSeconds + 0.5)
		}
		calls = append(calls, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls, "totalCount": total, "limit": oq.Limit, "offset": oq.Offset})
	return nil
}

// sessionDetails are the provider's details of a call, with the latest
// transcript lines while it is live.
func sessionDetails(o *callscope.OutboundCall, live []callscope.Segment) map[string]any {
	d := map[string]any{}
	if o == nil {
		return d
	}
	if o.ProviderSessionID != "" {
		d["providerSessionId"] = o.ProviderSessionID
	}
	if o.Dialer != "" {
		d["provider"] = o.Dialer
	}
	if o.Call != nil && o.Call.Status.Live() {
		d["participants"] = []string{o.Call.To}
		if len(live) > 3 {
			live = live[len(live)-3:]
		}
		snips := make([]map[string]any, 0, len(live))
		for _, sg := range live {
			snips = append(snips, map[string]any{"speaker": sg.Speaker, "text": sg.Text, "startTime": sg.StartTime})
		}
		d["transcriptSnippets"] = snips
	}
	return d
}

// timesOf holds a call's start and end times and its talking time, when
// known.
func timesOf(c *callscope.Call) map[string]any {
	v := map[string]any{}
	if c.StartedAt != nil {
		v["startTime"] = autoTime(*c.StartedAt)
	}
	if c.EndedAt != nil {
		v["endTime"] = autoTime(*c.EndedAt)
	}
	if c.Status.Final() && c.AnsweredAt != nil {
		v["durationSeconds"] = int(c.DurationSeconds + 0.5)
	}
	return v
}

func transcriptText(segs []callscope.Segment) string {
	var b strings.Builder
	for _, sg := range segs {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		if sg.Speaker != "" {
			b.WriteString(sg.Speaker + ": ")
		}
		b.WriteString(sg.Text)
	}
	return b.String()
}

// autoTime writes a time as ISO 8601 UTC with milliseconds.
func autoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func autoTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return autoTime(*t)
}

// publicURL makes a path absolute with the request's own scheme and host.
func (s *Server) publicURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}
