package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

const callColumns = `id, tenant_id, user_id, direction, from_number, to_number, contact_name, title,
	purpose, script, campaign_id, status, scheduled_at, started_at, answered_at, ended_at,
	completed_at, duration_seconds, disconnected_by, error_info, processing_mode,
	connection_info, last_activity, audio_seconds, language, translation,
	translation_language, entities, classification, summary, qa, insights, todos, raw,
	metadata, processing_status, created_at, updated_at`

// callSelect is callColumns, the call's version, which every write raises
// (inserts and updates name callColumns only), and its contact, which only
// LinkCallContact sets.
const callSelect = callColumns + `, version, contact_id`

func callArgs(c *callscope.Call) []any {
	raw := c.Raw
	if raw == nil {
		raw = map[string]json.RawMessage{}
	}
	meta := c.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	return []any{c.ID, c.TenantID, c.UserID, string(c.Direction), c.From, c.To, c.ContactName, c.Title,
		c.Purpose, c.Script, c.CampaignID, string(c.Status), c.ScheduledAt, c.StartedAt, c.AnsweredAt, c.EndedAt,
		c.CompletedAt, c.DurationSeconds, c.DisconnectedBy, c.ErrorInfo, string(c.ProcessingMode),
		jsonArg(c.ConnectionInfo), c.LastActivity, c.AudioSeconds, c.Language, c.Translation,
		c.TranslationLanguage, jsonArg(c.Entities), jsonArg(c.Classification), jsonArg(c.Summary), jsonArg(c.QA),
		jsonArg(c.Insights), jsonArg(c.Todos), jsonArg(raw),
		jsonArg(meta), string(c.ProcessingStatus), c.CreatedAt, c.UpdatedAt}
}

func scanCall(r row) (*callscope.Call, error) {
	var c callscope.Call
	var dir, status, mode, pstatus string
	var conn, ent, cls, sum, qa, ins, todos, raw, meta []byte
	err := r.Scan(&c.ID, &c.TenantID, &c.UserID, &dir, &c.From, &c.To, &c.ContactName, &c.Title,
		&c.Purpose, &c.Script, &c.CampaignID, &status, &c.ScheduledAt, &c.StartedAt, &c.AnsweredAt, &c.EndedAt,
		&c.CompletedAt, &c.DurationSeconds, &c.DisconnectedBy, &c.ErrorInfo, &mode,
		&conn, &c.LastActivity, &c.AudioSeconds, &c.Language, &c.Translation,
		&c.TranslationLanguage, &ent, &cls, &sum, &qa, &ins, &todos, &raw,
		&meta, &pstatus, &c.CreatedAt, &c.UpdatedAt, &c.Version, &c.ContactID)
	if err != nil {
		return nil, err
	}
	c.Direction, c.Status = callscope.Direction(dir), callscope.CallStatus(status)
	c.ProcessingMode, c.ProcessingStatus = callscope.ProcessingMode(mode), callscope.ProcessingStatus(pstatus)
	c.ConnectionInfo, c.Entities, c.Classification = rawJSON(conn), rawJSON(ent), rawJSON(cls)
	c.Summary, c.QA, c.Insights, c.Todos = rawJSON(sum), rawJSON(qa), rawJSON(ins), rawJSON(todos)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c.Raw); err != nil {
			return nil, fmt.Errorf("call %s raw: %w", c.ID, err)
		}
	}
	if len(meta) > 0 {
		if err := decodeNumbers(meta, &c.Metadata); err != nil {
			return nil, fmt.Errorf("call %s metadata: %w", c.ID, err)
		}
	}
	for _, t := range []**time.Time{&c.ScheduledAt, &c.StartedAt, &c.AnsweredAt, &c.EndedAt, &c.CompletedAt, &c.LastActivity} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// CreateCall stores a new call with its external ids, filling in ID,
// timestamps and defaults. Returns ECONFLICT if one of its external ids
// already names another call of the tenant.
func (q *queries) CreateCall(ctx context.Context, c *callscope.Call) error {
	return q.CreateEncodedCall(ctx, EncodeCall(c))
}

// EncodedCall is a call with its columns encoded for writing. Encoding a
// call's documents costs more than writing them, and can be done before the
// transaction that writes it; changes to the call made after encoding are
// not written.
type EncodedCall struct {
	c    *callscope.Call
	args []any
}

// Indexes of the columns a write fills in, in callArgs.
const (
	callArgID        = 0
	callArgCreatedAt = 36
	callArgUpdatedAt = 37
)

// EncodeCall encodes c, after filling in the defaults of a new call's
// direction, status and processing mode.
func EncodeCall(c *callscope.Call) *EncodedCall {
	if c.Direction == "" {
		c.Direction = callscope.Inbound
	}
	if c.Status == "" {
		c.Status = callscope.CallInProgress
	}
	if c.ProcessingMode == "" {
		c.ProcessingMode = callscope.ModePostcallOnly
	}
	if c.ExternalIDs == nil {
		c.ExternalIDs = []callscope.ExternalID{}
	}
	return &EncodedCall{c: c, args: callArgs(c)}
}

// CreateEncodedCall is CreateCall for a call encoded beforehand.
func (q *queries) CreateEncodedCall(ctx context.Context, ec *EncodedCall) error {
	c := ec.c
	if c.TenantID == "" {
		return callscope.Errorf(callscope.EINVALID, "call has no tenant")
	}
	if c.ID == "" {
		c.ID = callscope.NewID()
	}
	now := q.now()
	c.CreatedAt, c.UpdatedAt = now, now
	args := ec.args
	args[callArgID], args[callArgCreatedAt], args[callArgUpdatedAt] = c.ID, now, now
	if err := q.exec(ctx, insertCallSQL, args...); err != nil {
		return err
	}
	return q.insertExternalIDs(ctx, c, c.ExternalIDs, 0)
}

func init() {
	cols := strings.Split(callColumns, ",")
	name := func(i int) string { return strings.TrimSpace(cols[i]) }
	if len(cols) != callArgUpdatedAt+1 || name(callArgID) != "id" || name(callArgCreatedAt) != "created_at" || name(callArgUpdatedAt) != "updated_at" {
		panic("sqlstore: callArg indexes do not match callColumns")
	}
}

var (
	insertCallSQL = `INSERT INTO calls (` + callColumns + `) VALUES (` + placeholders(1, callArgUpdatedAt+1) + `)`
	updateCallSQL = func() string {
		cols := strings.Split(callColumns, ",")
		sets := make([]string, 0, len(cols))
		for i, col := range cols {
			col = strings.TrimSpace(col)
			if col == "id" || col == "tenant_id" {
				continue
			}
			sets = append(sets, col+" = $"+itoa(i+1))
		}
		sets = append(sets, "version = version + 1")
		return `UPDATE calls SET ` + strings.Join(sets, ", ") + ` WHERE id = $1 AND tenant_id = $2`
	}()
)

func (q *queries) insertExternalIDs(ctx context.Context, c *callscope.Call, ids []callscope.ExternalID, from int) error {
	for i, e := range ids {
		if e.Value == "" {
			return callscope.Errorf(callscope.EINVALID, "external id of kind %q is empty", e.Kind)
		}
		err := q.exec(ctx, `INSERT INTO call_external_ids (tenant_id, value, kind, call_id, position) VALUES ($1, $2, $3, $4, $5)`,
			c.TenantID, e.Value, e.Kind, c.ID, from+i)
		if callscope.ErrorCode(err) == callscope.ECONFLICT {
			return callscope.Errorf(callscope.ECONFLICT, "a call with external id %q already exists", e.Value)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// AddExternalID links one more external id to a call. Adding an id the call
// already has is not an error. Returns ECONFLICT if it names another call.
func (q *queries) AddExternalID(ctx context.Context, c *callscope.Call, e callscope.ExternalID) error {
	for _, have := range c.ExternalIDs {
		if have.Value == e.Value {
			return nil
		}
	}
	if err := q.insertExternalIDs(ctx, c, []callscope.ExternalID{e}, len(c.ExternalIDs)); err != nil {
		return err
	}
	c.ExternalIDs = append(c.ExternalIDs, e)
	return nil
}

// Call returns the tenant's call named by ref: callscope's own id or any of
// the call's external ids. Returns ENOTFOUND if the tenant has no such call.
func (q *queries) Call(ctx context.Context, tenantID, ref string) (*callscope.Call, error) {
	c, err := scanCall(q.ex.queryRow(ctx, `SELECT `+callSelect+` FROM calls
		WHERE tenant_id = $1 AND id = COALESCE(
			(SELECT call_id FROM call_external_ids WHERE tenant_id = $1 AND value = $2), $2)`, tenantID, ref))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "Call session not found")
	} else if err != nil {
		return nil, err
	}
	if err := q.loadExternalIDs(ctx, []*callscope.Call{c}); err != nil {
		return nil, err
	}
	return c, nil
}

func (q *queries) loadExternalIDs(ctx context.Context, calls []*callscope.Call) error {
	if len(calls) == 0 {
		return nil
	}
	byID := make(map[string]*callscope.Call, len(calls))
	args := make([]any, 0, len(calls))
	for _, c := range calls {
		c.ExternalIDs = []callscope.ExternalID{}
		byID[c.ID] = c
		args = append(args, c.ID)
	}
	rs, err := q.ex.query(ctx, `SELECT call_id, kind, value FROM call_external_ids
		WHERE call_id IN (`+placeholders(1, len(args))+`) ORDER BY call_id, position`, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var e callscope.ExternalID
		if err := rs.Scan(&id, &e.Kind, &e.Value); err != nil {
			return err
		}
		c := byID[id]
		c.ExternalIDs = append(c.ExternalIDs, e)
	}
	return rs.Err()
}

// Calls lists the calls that match f, newest first, one page at a time.
// Pass the id of the last call of a page as f.After to get the next one.
func (q *queries) Calls(ctx context.Context, f callscope.CallFilter) ([]*callscope.Call, error) {
	if f.TenantID == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "listing calls needs a tenant")
	}
	where := []string{"tenant_id = $1"}
	args := []any{f.TenantID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+itoa(len(args))))
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if len(f.Status) > 0 {
		ph := make([]string, len(f.Status))
		for i, s := range f.Status {
			args = append(args, string(s))
			ph[i] = "$" + itoa(len(args))
		}
		where = append(where, "status IN ("+strings.Join(ph, ", ")+")")
	}
	if f.Direction != "" {
		add("direction = ?", string(f.Direction))
	}
	if f.CreatedFrom != nil {
		add("created_at >= ?", *f.CreatedFrom)
	}
	if f.CreatedTo != nil {
		add("created_at < ?", *f.CreatedTo)
	}
	if f.After != "" {
		add("id < ?", f.After)
	}
	limit := f.Limit
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = 50
	}
	rs, err := q.ex.query(ctx, `SELECT `+callSelect+` FROM calls WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT `+itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	return q.scanCalls(ctx, rs)
}

// UpdateCall writes back every field of a call read earlier and bumps
// UpdatedAt. External ids are managed with AddExternalID. Returns ENOTFOUND
// if the call does not exist in its tenant.
func (q *queries) UpdateCall(ctx context.Context, c *callscope.Call) error {
	return q.UpdateEncodedCall(ctx, EncodeCall(c))
}

// UpdateEncodedCall is UpdateCall for a call encoded beforehand.
func (q *queries) UpdateEncodedCall(ctx context.Context, ec *EncodedCall) error {
	c := ec.c
	c.UpdatedAt = q.now()
	args := ec.args
	args[callArgUpdatedAt] = c.UpdatedAt
	n, err := q.ex.execRows(ctx, updateCallSQL, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "Call session not found")
	}
	return nil
}

// CountCalls returns how many calls the tenant has in the given statuses
// (all statuses when none are given).
func (q *queries) CountCalls(ctx context.Context, tenantID string, statuses ...callscope.CallStatus) (int, error) {
	query := `SELECT count(*) FROM calls WHERE tenant_id = $1`
	args := []any{tenantID}
	if len(statuses) > 0 {
		for _, s := range statuses {
			args = append(args, string(s))
		}
		query += ` AND status IN (` + placeholders(2, len(statuses)) + `)`
	}
	var n int
	err := q.ex.queryRow(ctx, query, args...).Scan(&n)
	return n, err
}

// scanCalls reads rows of callSelect, closes them, and loads the calls'
// external ids.
func (q *queries) scanCalls(ctx context.Context, rs rows) ([]*callscope.Call, error) {
	defer rs.Close()
	out := []*callscope.Call{}
	for rs.Next() {
		c, err := scanCall(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	rs.Close()
	return out, q.loadExternalIDs(ctx, out)
}
