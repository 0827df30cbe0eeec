package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// ActiveStatuses are the statuses of a live session: the call is being set
// up, is under way or is hanging up.
var ActiveStatuses = []callscope.CallStatus{
	callscope.CallInitiating, callscope.CallRinging, callscope.CallInProgress, callscope.CallEnding,
}

// activeWhere selects the tenant's live calls (alias c); the tenant is $1.
var activeWhere = func() string {
	ph := make([]string, len(ActiveStatuses))
	for i, s := range ActiveStatuses {
		ph[i] = "'" + string(s) + "'"
	}
	return `c.tenant_id = $1 AND c.status IN (` + strings.Join(ph, ", ") + `)`
}()

// publicIDExpr is a call's public id (its first external id, else its own
// id) for the call aliased c, as Call.PublicID computes it.
const publicIDExpr = `COALESCE((SELECT e.value FROM call_external_ids e WHERE e.call_id = c.id ORDER BY e.position LIMIT 1), c.id)`

// sessionColumns are the columns of a call a live session shows: identity,
// lifecycle, session state and metadata, without the result documents.
const sessionColumns = `id, tenant_id, user_id, direction, from_number, to_number, contact_name, title,
	purpose, campaign_id, status, started_at, ended_at, duration_seconds, processing_mode,
	connection_info, last_activity, audio_seconds, language, metadata, processing_status, created_at, updated_at, version`

func scanSession(r row) (*callscope.Call, error) {
	var c callscope.Call
	var dir, status, mode, pstatus string
	var conn, meta []byte
	err := r.Scan(&c.ID, &c.TenantID, &c.UserID, &dir, &c.From, &c.To, &c.ContactName, &c.Title,
		&c.Purpose, &c.CampaignID, &status, &c.StartedAt, &c.EndedAt, &c.DurationSeconds, &mode,
		&conn, &c.LastActivity, &c.AudioSeconds, &c.Language, &meta, &pstatus, &c.CreatedAt, &c.UpdatedAt, &c.Version)
	if err != nil {
		return nil, err
	}
	c.Direction, c.Status = callscope.Direction(dir), callscope.CallStatus(status)
	c.ProcessingMode, c.ProcessingStatus = callscope.ProcessingMode(mode), callscope.ProcessingStatus(pstatus)
	c.ConnectionInfo = rawJSON(conn)
	if len(meta) > 2 { // "{}" is by far the most common
		if err := decodeNumbers(meta, &c.Metadata); err != nil {
			return nil, fmt.Errorf("call %s metadata: %w", c.ID, err)
		}
	}
	for _, t := range []**time.Time{&c.StartedAt, &c.EndedAt, &c.LastActivity} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// ActiveCalls returns the tenant's live calls (ActiveStatuses), oldest
// first, with what a session shows (sessionColumns), their external ids
// and their segments by call id.
func (q *queries) ActiveCalls(ctx context.Context, tenantID string) ([]*callscope.Call, map[string][]callscope.Segment, error) {
	refs, err := q.ActiveCallVersions(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	calls, segs, err := q.SessionsByID(ctx, tenantID, ids)
	if err != nil {
		return nil, nil, err
	}
	if calls == nil {
		calls = []*callscope.Call{}
	}
	slices.SortFunc(calls, func(a, b *callscope.Call) int { return strings.Compare(a.ID, b.ID) })
	return calls, segs, nil
}

// callscope.SessionStats returns counts and totals over the tenant's live calls,
// computed by the database.
func (q *queries) SessionStats(ctx context.Context, tenantID string) (*callscope.SessionStats, error) {
	var st callscope.SessionStats
	err := q.ex.queryRow(ctx, `SELECT count(*), COALESCE(SUM(c.audio_seconds), 0),
			CAST(COALESCE(SUM((SELECT count(*) FROM segments s WHERE s.call_id = c.id)), 0) AS BIGINT)
		FROM calls c WHERE `+activeWhere, tenantID).Scan(&st.Active, &st.AudioSeconds, &st.Segments)
	if err != nil {
		return nil, err
	}
	rs, err := q.ex.query(ctx, `SELECT `+publicIDExpr+` FROM calls c WHERE `+activeWhere+` ORDER BY c.id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	st.CallIDs = []string{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		st.CallIDs = append(st.CallIDs, id)
	}
	return &st, rs.Err()
}

// LockCall holds a call's row until the transaction ends, so that changes
// read from it and written back are not interleaved with another
// transaction's. Use it inside Store.InTx. SQLite runs one writing
// transaction at a time, so there it has nothing to do. Returns ENOTFOUND if
// the call does not exist.
func (q *queries) LockCall(ctx context.Context, callID string) error {
	if q.d != Postgres {
		return nil
	}
	var id string
	err := q.ex.queryRow(ctx, `SELECT id FROM calls WHERE id = $1 FOR NO KEY UPDATE`, callID).Scan(&id)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return callscope.Errorf(callscope.ENOTFOUND, "Call session not found")
	}
	return err
}

// AppendSegments stores segments of a live call and brings the call's
// session state up to date: last activity becomes at, and audio seconds
// grows to the end of its last segment. A segment whose id the call already
// has replaces it, so sending the same segments twice is harmless; segments
// with a negative SegmentID are given the ids after the highest the call
// (or segs) has, in order, and segs is updated with them. It returns the
// call's segment count and audio seconds afterwards. Run it inside
// Store.InTx: it locks the call for the id assignment.
func (q *queries) AppendSegments(ctx context.Context, callID string, segs []callscope.Segment, at time.Time) (count int, audio float64, err error) {
	if err := q.LockCall(ctx, callID); err != nil {
		return 0, 0, err
	}
	next := -1
	if err := q.ex.queryRow(ctx, `SELECT COALESCE(MAX(segment_id), -1) FROM segments WHERE call_id = $1`, callID).Scan(&next); err != nil {
		return 0, 0, err
	}
	for _, s := range segs {
		next = max(next, s.SegmentID)
	}
	for i := range segs {
		if segs[i].SegmentID < 0 {
			next++
			segs[i].SegmentID = next
		}
	}
	if err := q.PutSegments(ctx, callID, segs); err != nil {
		return 0, 0, err
	}
	var end float64
	if count, end, err = q.SegmentStats(ctx, callID); err != nil {
		return 0, 0, err
	}
	at = callscope.Timestamp(at)
	n, err := q.ex.execRows(ctx, `UPDATE calls SET last_activity = $2, updated_at = $2, version = version + 1,
		audio_seconds = CASE WHEN audio_seconds < $3 THEN $3 ELSE audio_seconds END WHERE id = $1`, callID, at, end)
	if err != nil {
		return 0, 0, err
	}
	if n == 0 {
		return 0, 0, callscope.Errorf(callscope.ENOTFOUND, "Call session not found")
	}
	if err := q.ex.queryRow(ctx, `SELECT audio_seconds FROM calls WHERE id = $1`, callID).Scan(&audio); err != nil {
		return 0, 0, err
	}
	return count, audio, nil
}

// startExpr is a call's start time as the Call Sessions API shows it.
const startExpr = `COALESCE(c.started_at, c.created_at)`

// SearchCalls lists the calls that match cq, one page at a time, in one
// query. Returns EINVALID for an unknown sort.
func (q *queries) SearchCalls(ctx context.Context, cq callscope.CallQuery) ([]*callscope.Call, error) {
	f := cq.CallFilter
	if f.TenantID == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "listing calls needs a tenant")
	}
	where := []string{"c.tenant_id = $1"}
	args := []any{f.TenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	if f.UserID != "" {
		where = append(where, "c.user_id = "+arg(f.UserID))
	}
	if len(f.Status) > 0 {
		ph := make([]string, len(f.Status))
		for i, s := range f.Status {
			ph[i] = arg(string(s))
		}
		where = append(where, "c.status IN ("+strings.Join(ph, ", ")+")")
	}
	if f.Direction != "" {
		where = append(where, "c.direction = "+arg(string(f.Direction)))
	}
	if f.CreatedFrom != nil {
		where = append(where, "c.created_at >= "+arg(*f.CreatedFrom))
	}
	if f.CreatedTo != nil {
		where = append(where, "c.created_at < "+arg(*f.CreatedTo))
	}
	if cq.StartFrom != nil {
		where = append(where, startExpr+" >= "+arg(*cq.StartFrom))
	}
	if cq.StartTo != nil {
		where = append(where, startExpr+" < "+arg(*cq.StartTo))
	}
	if cq.Text != "" {
		like, summary := "LIKE", "c.summary"
		if q.d == Postgres {
			like, summary = "ILIKE", "c.summary::text"
		}
		p := arg("%" + escapeLike(cq.Text) + "%")
		where = append(where, `(EXISTS (SELECT 1 FROM segments s WHERE s.call_id = c.id AND s.text `+like+` `+p+` ESCAPE '\')
			OR `+summary+` `+like+` `+p+` ESCAPE '\')`)
	}
	if cq.CampaignID != "" {
		where = append(where, "c.campaign_id = "+arg(cq.CampaignID))
	}
	if cq.ContactID != "" {
		where = append(where, "c.contact_id = "+arg(cq.ContactID))
	}
	if cq.Category != "" || cq.Risk != "" {
		field := func(name string) string {
			if q.d == Postgres {
				return "c.classification->>'" + name + "'"
			}
			return "json_extract(c.classification, '$." + name + "')"
		}
		if cq.Category != "" {
			where = append(where, field("category")+" = "+arg(cq.Category))
		}
		if cq.Risk != "" {
			where = append(where, field("risk")+" = "+arg(cq.Risk))
		}
	}
	dir := " DESC"
	if cq.Ascending {
		dir = " ASC"
	}
	var order string
	switch cq.Sort {
	case "", callscope.SortCreatedAt:
		if f.After != "" {
			op := " < "
			if cq.Ascending {
				op = " > "
			}
			where = append(where, "c.id"+op+arg(f.After))
		}
		order = "c.id" + dir
	case callscope.SortStartTime:
		order = startExpr + dir + ", c.id" + dir
	case callscope.SortDuration:
		order = "c.duration_seconds" + dir + ", c.id" + dir
	default:
		return nil, callscope.Errorf(callscope.EINVALID, "unknown sort %q", cq.Sort)
	}
	limit := f.Limit
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = 50
	}
	query := `SELECT ` + callSelect + ` FROM calls c WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ` + itoa(limit)
	if cq.Offset > 0 {
		query += ` OFFSET ` + itoa(cq.Offset)
	}
	rs, err := q.ex.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return q.scanCalls(ctx, rs)
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ProcessingCallIDs returns the public ids of up to limit of the tenant's
// calls whose processing is in the given status, most recently changed
// first.
func (q *queries) ProcessingCallIDs(ctx context.Context, tenantID string, status callscope.ProcessingStatus, limit int) ([]string, error) {
	rs, err := q.ex.query(ctx, `SELECT `+publicIDExpr+` FROM processing p JOIN calls c ON c.id = p.call_id
		WHERE p.tenant_id = $1 AND p.status = $2 ORDER BY p.updated_at DESC, c.id DESC LIMIT `+itoa(limit), tenantID, string(status))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []string{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rs.Err()
}

// ActiveCallVersions lists the tenant's live calls (ActiveStatuses) with
// their versions, oldest first: enough to tell which renderings of them
// are still current.
func (q *queries) ActiveCallVersions(ctx context.Context, tenantID string) ([]callscope.CallRef, error) {
	// Sorted here, not by the query: with ORDER BY id, SQLite walks the
	// tenant's calls in id order (every call it ever had) rather than
	// the few live ones through the status index.
	rs, err := q.ex.query(ctx, `SELECT c.id, c.version FROM calls c WHERE `+activeWhere, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []callscope.CallRef{}
	for rs.Next() {
		var r callscope.CallRef
		if err := rs.Scan(&r.ID, &r.Version); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b callscope.CallRef) int { return strings.Compare(a.ID, b.ID) })
	return out, rs.Err()
}

// SessionsByID returns the tenant's calls with the given ids, with what a
// session shows (sessionColumns), their external ids and segments; ids of
// other tenants' calls are ignored.
func (q *queries) SessionsByID(ctx context.Context, tenantID string, ids []string) ([]*callscope.Call, map[string][]callscope.Segment, error) {
	segs := map[string][]callscope.Segment{}
	if len(ids) == 0 {
		return nil, segs, nil
	}
	args := []any{tenantID}
	for _, id := range ids {
		args = append(args, id)
	}
	in := placeholders(2, len(ids))
	rs, err := q.ex.query(ctx, `SELECT `+sessionColumns+` FROM calls WHERE tenant_id = $1 AND id IN (`+in+`)`, args...)
	if err != nil {
		return nil, nil, err
	}
	var calls []*callscope.Call
	byID := map[string]*callscope.Call{}
	for rs.Next() {
		c, err := scanSession(rs)
		if err != nil {
			rs.Close()
			return nil, nil, err
		}
		c.ExternalIDs = []callscope.ExternalID{}
		calls = append(calls, c)
		byID[c.ID] = c
	}
	if err := rs.Err(); err != nil {
		rs.Close()
		return nil, nil, err
	}
	rs.Close()
	if len(calls) == 0 {
		return calls, segs, nil
	}
	if err := q.loadExternalIDs(ctx, calls); err != nil {
		return nil, nil, err
	}
	args = args[1:]
	rs, err = q.ex.query(ctx, `SELECT call_id, segment_id, speaker, start_time, end_time, text, confidence
		FROM segments WHERE call_id IN (`+placeholders(1, len(args))+`) ORDER BY call_id, start_time, segment_id`, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var s callscope.Segment
		if err := rs.Scan(&s.CallID, &s.SegmentID, &s.Speaker, &s.StartTime, &s.EndTime, &s.Text, &s.Confidence); err != nil {
			return nil, nil, err
		}
		if byID[s.CallID] != nil {
			segs[s.CallID] = append(segs[s.CallID], s)
		}
	}
	return calls, segs, rs.Err()
}

// LiveTick is one live call's progress: when it was last heard and how much
// audio it has carried.
type LiveTick struct {
	CallID       string
	At           time.Time
	AudioSeconds float64
}

// LiveProgress stores the progress of live calls, one statement each and
// only for calls still live (the audio seconds are never lowered), and
// returns the status of every call named, found or not: a call that is gone
// is missing from the map.
func (q *queries) LiveProgress(ctx context.Context, ticks []LiveTick) (map[string]callscope.CallStatus, error) {
	live := make([]string, len(ActiveStatuses))
	for i, s := range ActiveStatuses {
		live[i] = "'" + string(s) + "'"
	}
	for _, t := range ticks {
		if err := q.exec(ctx, `UPDATE calls SET last_activity = $2, updated_at = $2, version = version + 1,
			audio_seconds = CASE WHEN audio_seconds < $3 THEN $3 ELSE audio_seconds END
			WHERE id = $1 AND status IN (`+strings.Join(live, ", ")+`)`, t.CallID, callscope.Timestamp(t.At), t.AudioSeconds); err != nil {
			return nil, err
		}
	}
	out := make(map[string]callscope.CallStatus, len(ticks))
	for start := 0; start < len(ticks); start += 500 {
		part := ticks[start:min(len(ticks), start+500)]
		args := make([]any, len(part))
		for i, t := range part {
			args[i] = t.CallID
		}
		rs, err := q.ex.query(ctx, `SELECT id, status FROM calls WHERE id IN (`+placeholders(1, len(part))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var id, st string
			if err := rs.Scan(&id, &st); err != nil {
				rs.Close()
				return nil, err
			}
			out[id] = callscope.CallStatus(st)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
