package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

const outboundColumns = `call_id, tenant_id, duration_minutes, recording_enabled, transcription_enabled,
	callback_url, time_zone, provider, dialer, provider_session_id, placed_at, attempts, cost, waiting`

func outboundArgs(o *callscope.OutboundCall) []any {
	prov := o.Provider
	if prov == nil {
		prov = map[string]json.RawMessage{}
	}
	return []any{o.CallID, o.TenantID, o.DurationMinutes, o.RecordingEnabled, o.TranscriptionEnabled,
		o.CallbackURL, o.TimeZone, jsonArg(prov), o.Dialer, o.ProviderSessionID, o.PlacedAt, o.Attempts, o.Cost, o.Waiting}
}

func scanOutbound(r row, extra ...any) (*callscope.OutboundCall, error) {
	var o callscope.OutboundCall
	var prov []byte
	dest := append([]any{&o.CallID, &o.TenantID, &o.DurationMinutes, &o.RecordingEnabled, &o.TranscriptionEnabled,
		&o.CallbackURL, &o.TimeZone, &prov, &o.Dialer, &o.ProviderSessionID, &o.PlacedAt, &o.Attempts, &o.Cost, &o.Waiting}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	if len(prov) > 0 {
		if err := json.Unmarshal(prov, &o.Provider); err != nil {
			return nil, err
		}
	}
	if o.PlacedAt != nil {
		t := o.PlacedAt.UTC()
		o.PlacedAt = &t
	}
	return &o, nil
}

// CreateOutboundCall stores what an outbound call carries beyond its call
// record; the call must exist. Returns ECONFLICT if the call has it already.
func (q *queries) CreateOutboundCall(ctx context.Context, o *callscope.OutboundCall) error {
	return q.exec(ctx, `INSERT INTO outbound_calls (`+outboundColumns+`) VALUES (`+placeholders(1, 14)+`)`, outboundArgs(o)...)
}

// UpdateOutboundCall writes back an outbound call's placing state. Returns
// ENOTFOUND if the call has none.
func (q *queries) UpdateOutboundCall(ctx context.Context, o *callscope.OutboundCall) error {
	n, err := q.ex.execRows(ctx, `UPDATE outbound_calls SET dialer = $2, provider_session_id = $3, placed_at = $4,
		attempts = $5, cost = $6, waiting = $7 WHERE call_id = $1`,
		o.CallID, o.Dialer, o.ProviderSessionID, o.PlacedAt, o.Attempts, o.Cost, o.Waiting)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "outbound call not found")
	}
	return err
}

// OutboundCall returns the outbound call ref names (its id or any external
// id) with its call record. Returns ENOTFOUND if the tenant has no such
// outbound call.
func (q *queries) OutboundCall(ctx context.Context, tenantID, ref string) (*callscope.OutboundCall, error) {
	c, err := q.Call(ctx, tenantID, ref)
	if err != nil {
		return nil, err
	}
	o, err := scanOutbound(q.ex.queryRow(ctx, `SELECT `+outboundColumns+` FROM outbound_calls WHERE call_id = $1 AND tenant_id = $2`, c.ID, tenantID))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "Call not found")
	} else if err != nil {
		return nil, err
	}
	o.Call = c
	return o, nil
}

// outboundOrder maps an OutboundQuery's sort to its column.
var outboundOrder = map[string]string{
	"":                          "c.scheduled_at",
	callscope.SortScheduledTime: "c.scheduled_at",
	callscope.SortCreatedAt:     "c.created_at",
	callscope.SortStartTime:     "c.started_at",
	callscope.SortDuration:      "c.duration_seconds",
}

// OutboundCalls lists one user's outbound calls, with their call records,
// and counts all that the query selects (ignoring its limit and offset).
// Returns EINVALID for an unknown sort.
func (q *queries) OutboundCalls(ctx context.Context, oq callscope.OutboundQuery) ([]*callscope.OutboundCall, int, error) {
	col, ok := outboundOrder[oq.Sort]
	if !ok {
		return nil, 0, callscope.Errorf(callscope.EINVALID, "unknown sort %q", oq.Sort)
	}
	where := `o.tenant_id = $1 AND c.tenant_id = $1 AND c.user_id = $2`
	args := []any{oq.TenantID, oq.UserID}
	if len(oq.Statuses) > 0 {
		ph := make([]string, len(oq.Statuses))
		for i, s := range oq.Statuses {
			args = append(args, string(s))
			ph[i] = "$" + itoa(len(args))
		}
		where += ` AND c.status IN (` + strings.Join(ph, ", ") + `)`
	}
	from := ` FROM outbound_calls o JOIN calls c ON c.id = o.call_id WHERE ` + where
	var total int
	if err := q.ex.queryRow(ctx, `SELECT count(*)`+from, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	dir := " DESC"
	if oq.Ascending {
		dir = " ASC"
	}
	limit := oq.Limit
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = callscope.MaxPageSize
	}
	args = append(args, limit, max(oq.Offset, 0))
	cols := prefixColumns("o.", outboundColumns) + `, ` + prefixColumns("c.", callSelect)
	rs, err := q.ex.query(ctx, `SELECT `+cols+from+` ORDER BY `+col+dir+`, c.id`+dir+
		` LIMIT $`+itoa(len(args)-1)+` OFFSET $`+itoa(len(args)), args...)
	if err != nil {
		return nil, 0, err
	}
	defer rs.Close()
	var out []*callscope.OutboundCall
	var calls []*callscope.Call
	for rs.Next() {
		var o *callscope.OutboundCall
		c, err := scanCall(scanFunc(func(dest ...any) error {
			var err error
			o, err = scanOutbound(rs, dest...)
			return err
		}))
		if err != nil {
			return nil, 0, err
		}
		o.Call = c
		out = append(out, o)
		calls = append(calls, c)
	}
	if err := rs.Err(); err != nil {
		return nil, 0, err
	}
	if err := q.loadExternalIDs(ctx, calls); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// scanFunc is a row whose Scan is a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func prefixColumns(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// LockOutboundLines makes the transaction the only one changing the
// tenant's lines until it ends (a no-op on SQLite, whose writes are
// serial).
func (q *queries) LockOutboundLines(ctx context.Context, tenantID string) error {
	if q.d != Postgres {
		return nil
	}
	return q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('outbound_lines:' || $1, 0))`, tenantID)
}

// OutboundLinesInUse counts the tenant's lines held at now: those not
// released and not expired.
func (q *queries) OutboundLinesInUse(ctx context.Context, tenantID string, now time.Time) (int, error) {
	var n int
	err := q.ex.queryRow(ctx, `SELECT count(*) FROM outbound_lines WHERE tenant_id = $1 AND expires_at > $2`, tenantID, now).Scan(&n)
	return n, err
}

// TakeOutboundLine records that a call holds one of its tenant's lines
// until it is released or expires; taking it again moves the expiry.
func (q *queries) TakeOutboundLine(ctx context.Context, tenantID, callID string, expires time.Time) error {
	if err := q.exec(ctx, `DELETE FROM outbound_lines WHERE call_id = $1`, callID); err != nil {
		return err
	}
	return q.exec(ctx, `INSERT INTO outbound_lines (call_id, tenant_id, expires_at) VALUES ($1, $2, $3)`, callID, tenantID, expires)
}

// OutboundLineExpiry returns when a call's line expires, and false when
// the call holds none.
func (q *queries) OutboundLineExpiry(ctx context.Context, callID string) (time.Time, bool, error) {
	var t time.Time
	err := q.ex.queryRow(ctx, `SELECT expires_at FROM outbound_lines WHERE call_id = $1`, callID).Scan(&t)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return time.Time{}, false, nil
	}
	return t.UTC(), err == nil, err
}

// ReleaseOutboundLine frees the line a call holds, if any, and reports
// whether it held one.
func (q *queries) ReleaseOutboundLine(ctx context.Context, callID string) (bool, error) {
	n, err := q.ex.execRows(ctx, `DELETE FROM outbound_lines WHERE call_id = $1`, callID)
	return n > 0, err
}

// WaitingTenants lists the tenants with calls whose waiting note is
// waiting.
func (q *queries) WaitingTenants(ctx context.Context, waiting string) ([]string, error) {
	return q.strings(ctx, `SELECT DISTINCT tenant_id FROM outbound_calls WHERE waiting = $1 AND waiting <> ''`, waiting)
}

// WaitingOutbound lists the ids of up to limit of the tenant's calls with
// the waiting note waiting, longest waiting first.
func (q *queries) WaitingOutbound(ctx context.Context, tenantID, waiting string, limit int) ([]string, error) {
	return q.strings(ctx, `SELECT call_id FROM outbound_calls WHERE tenant_id = $1 AND waiting = $2 AND waiting <> ''
		ORDER BY call_id LIMIT $3`, tenantID, waiting, limit)
}

func (q *queries) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rs, err := q.ex.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v string
		if err := rs.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rs.Err()
}

// NextWaitingOutbound returns the id of the tenant's call that has waited
// longest (by id, which orders by creation) with the waiting note waiting.
// Only scheduled calls have a waiting note. Returns ENOTFOUND if none waits.
func (q *queries) NextWaitingOutbound(ctx context.Context, tenantID, waiting string) (string, error) {
	var id string
	err := q.ex.queryRow(ctx, `SELECT call_id FROM outbound_calls WHERE tenant_id = $1 AND waiting = $2 AND waiting <> ''
		ORDER BY call_id LIMIT 1`, tenantID, waiting).Scan(&id)
	return id, err
}

// IdempotentAnswer is the first answer given to an Idempotency-Key.
type IdempotentAnswer struct {
	RequestHash string
	Response    json.RawMessage
}

// PutIdempotencyKey records the answer to a request carrying an
// Idempotency-Key. Returns ECONFLICT if the key was used before: the
// uniqueness of the key, not a lock, makes racing requests answer once.
func (q *queries) PutIdempotencyKey(ctx context.Context, tenantID, scope, op, key, requestHash string, response json.RawMessage) error {
	return q.exec(ctx, `INSERT INTO idempotency_keys (tenant_id, scope, operation, key, request_hash, response, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, scope, op, key, requestHash, string(response), q.now())
}

// IdempotencyKey returns the first answer given to a key. Returns ENOTFOUND
// if the key was not used.
func (q *queries) IdempotencyKey(ctx context.Context, tenantID, scope, op, key string) (*IdempotentAnswer, error) {
	var a IdempotentAnswer
	var resp string
	err := q.ex.queryRow(ctx, `SELECT request_hash, response FROM idempotency_keys
		WHERE tenant_id = $1 AND scope = $2 AND operation = $3 AND key = $4`, tenantID, scope, op, key).Scan(&a.RequestHash, &resp)
	if err != nil {
		return nil, err
	}
	a.Response = json.RawMessage(resp)
	return &a, nil
}

// DeleteIdempotencyKeysBefore forgets the answers to keys first used
// before t, and returns how many.
func (q *queries) DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := q.ex.execRows(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, t.UTC())
	return int(n), err
}

// CallbackSecret is a tenant's callback credentials.
type CallbackSecret struct {
	TenantID string
	// Token is sent verbatim in a header of every callback.
	Token string
	// SigningSecret (whsec_…) signs callbacks per Standard Webhooks; during
	// a rotation PreviousSigningSecret also signs them until
	// PreviousExpiresAt.
	SigningSecret         string
	PreviousSigningSecret string
	PreviousExpiresAt     *time.Time
	CreatedAt             time.Time
}

// PutCallbackSecret stores a tenant's callback credentials, sealed,
// replacing those it had.
func (q *queries) PutCallbackSecret(ctx context.Context, cs *CallbackSecret) error {
	tok, err := q.seal("callback token", cs.Token)
	if err != nil {
		return err
	}
	sig, err := q.seal("callback signing secret", cs.SigningSecret)
	if err != nil {
		return err
	}
	prev, err := q.seal("callback previous signing secret", cs.PreviousSigningSecret)
	if err != nil {
		return err
	}
	cs.CreatedAt = q.now()
	if err := q.exec(ctx, `DELETE FROM callback_secrets WHERE tenant_id = $1`, cs.TenantID); err != nil {
		return err
	}
	return q.exec(ctx, `INSERT INTO callback_secrets (tenant_id, token, signing_secret, previous_signing_secret,
		previous_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		cs.TenantID, tok, sig, prev, cs.PreviousExpiresAt, cs.CreatedAt)
}

// CallbackSecret returns a tenant's callback credentials, opened. Returns
// ENOTFOUND if the tenant has none.
func (q *queries) CallbackSecret(ctx context.Context, tenantID string) (*CallbackSecret, error) {
	cs := CallbackSecret{TenantID: tenantID}
	err := q.ex.queryRow(ctx, `SELECT token, signing_secret, previous_signing_secret, previous_expires_at, created_at
		FROM callback_secrets WHERE tenant_id = $1`, tenantID).Scan(&cs.Token, &cs.SigningSecret, &cs.PreviousSigningSecret,
		&cs.PreviousExpiresAt, &cs.CreatedAt)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "no callback secret")
	} else if err != nil {
		return nil, err
	}
	for _, p := range []*string{&cs.Token, &cs.SigningSecret, &cs.PreviousSigningSecret} {
		if *p, err = q.open("callback secret", *p); err != nil {
			return nil, err
		}
	}
	cs.CreatedAt = cs.CreatedAt.UTC()
	return &cs, nil
}

// CallbackURL returns the callback URL of an outbound call, "" when the
// call has none or is not an outbound call.
func (q *queries) CallbackURL(ctx context.Context, callID string) (string, error) {
	var u string
	err := q.ex.queryRow(ctx, `SELECT callback_url FROM outbound_calls WHERE call_id = $1`, callID).Scan(&u)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return "", nil
	}
	return u, err
}

// resealCallbackSecrets seals the callback secrets with the keyring's
// first key (after a key rotation); see ResealSecrets.
func (q *queries) resealCallbackSecrets(ctx context.Context) (int, error) {
	type stale struct{ tenant, token, secret, previous string }
	rs, err := q.ex.query(ctx, `SELECT tenant_id, token, signing_secret, previous_signing_secret FROM callback_secrets`)
	if err != nil {
		return 0, err
	}
	var todo []stale
	for rs.Next() {
		var x stale
		if err := rs.Scan(&x.tenant, &x.token, &x.secret, &x.previous); err != nil {
			rs.Close()
			return 0, err
		}
		if q.keys.NeedsReseal(x.token) || q.keys.NeedsReseal(x.secret) || q.keys.NeedsReseal(x.previous) {
			todo = append(todo, x)
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, x := range todo {
		var out [3]string
		for i, v := range []string{x.token, x.secret, x.previous} {
			if out[i], err = q.keys.Reseal(v); err != nil {
				return n, fmt.Errorf("callback secret of tenant %s: %w", x.tenant, err)
			}
		}
		// Only if unchanged meanwhile: a rotation by another replica wins.
		m, err := q.ex.execRows(ctx, `UPDATE callback_secrets SET token = $2, signing_secret = $3, previous_signing_secret = $4
			WHERE tenant_id = $1 AND token = $5 AND signing_secret = $6 AND previous_signing_secret = $7`,
			x.tenant, out[0], out[1], out[2], x.token, x.secret, x.previous)
		if err != nil {
			return n, err
		}
		n += int(m)
	}
	return n, nil
}

// OverdueOutbound lists up to limit scheduled outbound calls, of any
// tenant, due at or before cutoff and not waiting (for a line or the
// calling window), oldest first, as (tenant id, call id) pairs.
func (q *queries) OverdueOutbound(ctx context.Context, cutoff time.Time, limit int) ([][2]string, error) {
	rs, err := q.ex.query(ctx, `SELECT c.tenant_id, c.id FROM calls c JOIN outbound_calls o ON o.call_id = c.id
		WHERE c.status = 'scheduled' AND c.scheduled_at <= $1 AND o.waiting = ''
		ORDER BY c.scheduled_at, c.id LIMIT $2`, cutoff, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out [][2]string
	for rs.Next() {
		var p [2]string
		if err := rs.Scan(&p[0], &p[1]); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rs.Err()
}
