package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/callscope/callscope"
)

// Outbound campaigns (migration 014): the campaigns table, the dialling
// columns of campaign_contacts, the campaign log and the do-not-call list.

const campaignColumns = `tenant_id, id, name, state, user_id, title, purpose, script, concurrency, redial,
	calling_window, time_zone, duration_minutes, provider, recording_enabled, transcription_enabled, created_at, updated_at`

func scanCampaign(r row) (*callscope.Campaign, error) {
	var c callscope.Campaign
	var redial, window, provider string
	if err := r.Scan(&c.TenantID, &c.ID, &c.Name, &c.State, &c.UserID, &c.Title, &c.Purpose, &c.Script, &c.Concurrency,
		&redial, &window, &c.TimeZone, &c.DurationMinutes, &provider, &c.RecordingEnabled, &c.TranscriptionEnabled, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.Redial = callscope.RedialPolicy{}
	if err := json.Unmarshal([]byte(redial), &c.Redial); err != nil {
		return nil, err
	}
	if window != "" {
		c.CallingWindow = &callscope.CallingWindow{}
		if err := json.Unmarshal([]byte(window), c.CallingWindow); err != nil {
			return nil, err
		}
	}
	c.Provider = map[string]any{}
	if err := json.Unmarshal([]byte(provider), &c.Provider); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// CreateCampaign stores a new campaign; its id, times and state (running)
// are set here.
func (q *queries) CreateCampaign(ctx context.Context, c *callscope.Campaign) error {
	now := q.now()
	c.ID, c.CreatedAt, c.UpdatedAt = callscope.NewID(), now, now
	if c.State == "" {
		c.State = callscope.CampaignRunning
	}
	if c.Redial == nil {
		c.Redial = callscope.RedialPolicy{}
	}
	if c.Provider == nil {
		c.Provider = map[string]any{}
	}
	window := ""
	if c.CallingWindow != nil {
		window = jsonArg(c.CallingWindow).(string)
	}
	return q.exec(ctx, `INSERT INTO campaigns (`+campaignColumns+`) VALUES (`+placeholders(1, 18)+`)`,
		c.TenantID, c.ID, c.Name, c.State, c.UserID, c.Title, c.Purpose, c.Script, c.Concurrency, jsonArg(c.Redial),
		window, c.TimeZone, c.DurationMinutes, jsonArg(c.Provider), c.RecordingEnabled, c.TranscriptionEnabled, c.CreatedAt, c.UpdatedAt)
}

// Campaign returns one of the tenant's campaigns. Returns ENOTFOUND if it
// has none of that id.
func (q *queries) Campaign(ctx context.Context, tenantID, id string) (*callscope.Campaign, error) {
	c, err := scanCampaign(q.ex.queryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "Campaign not found")
	}
	return c, err
}

// LockCampaign reads one of the tenant's campaigns under its row's lock,
// so that one dispatch of a campaign runs at a time; with share, under a
// shared lock, which lets reconciliations run side by side but not beside
// a dispatch or a change of state. Returns ENOTFOUND if it does not exist.
func (q *queries) LockCampaign(ctx context.Context, tenantID, id string, share ...bool) (*callscope.Campaign, error) {
	suffix := ""
	if q.d == Postgres {
		suffix = ` FOR UPDATE`
		if len(share) > 0 && share[0] {
			suffix = ` FOR SHARE`
		}
	}
	c, err := scanCampaign(q.ex.queryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE tenant_id = $1 AND id = $2`+suffix, tenantID, id))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "Campaign not found")
	}
	return c, err
}

// Campaigns lists the tenant's campaigns, newest first, after the cursor
// (a campaign id; "" for the first page).
func (q *queries) Campaigns(ctx context.Context, tenantID, cursor string, limit int) ([]*callscope.Campaign, error) {
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = callscope.MaxPageSize
	}
	where, args := `tenant_id = $1`, []any{tenantID}
	if cursor != "" {
		where += ` AND id < $2`
		args = append(args, cursor)
	}
	args = append(args, limit)
	rs, err := q.ex.query(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE `+where+` ORDER BY id DESC LIMIT $`+itoa(len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.Campaign{}
	for rs.Next() {
		c, err := scanCampaign(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rs.Err()
}

// SetCampaignState changes a campaign's state.
func (q *queries) SetCampaignState(ctx context.Context, tenantID, id, state string) error {
	return q.exec(ctx, `UPDATE campaigns SET state = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`, tenantID, id, state, q.now())
}

// RunningCampaigns lists the running campaigns (tenant id, campaign id)
// that have a contact due at now, or none left to call (to be completed).
func (q *queries) RunningCampaigns(ctx context.Context, now time.Time, limit int) ([][2]string, error) {
	rs, err := q.ex.query(ctx, `SELECT c.tenant_id, c.id FROM campaigns c WHERE c.state = 'running' AND (
		EXISTS (SELECT 1 FROM campaign_contacts cc WHERE cc.tenant_id = c.tenant_id AND cc.campaign_id = c.id
			AND cc.state = 'pending' AND (cc.next_at IS NULL OR cc.next_at <= $1))
		OR NOT EXISTS (SELECT 1 FROM campaign_contacts cc WHERE cc.tenant_id = c.tenant_id AND cc.campaign_id = c.id
			AND cc.state IN ('pending', 'in_progress')))
		ORDER BY c.id LIMIT $2`, now, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out [][2]string
	for rs.Next() {
		var t, id string
		if err := rs.Scan(&t, &id); err != nil {
			return nil, err
		}
		out = append(out, [2]string{t, id})
	}
	return out, rs.Err()
}

// AddCampaignContacts adds pending contacts to a campaign, after those it
// has. A number the campaign has already is left as it is. It returns how
// many were added.
func (q *queries) AddCampaignContacts(ctx context.Context, tenantID, campaignID string, in []callscope.CampaignContactInput) (int, error) {
	var pos int
	if err := q.ex.queryRow(ctx, `SELECT COALESCE(MAX(position), 0) FROM campaign_contacts WHERE tenant_id = $1 AND campaign_id = $2`,
		tenantID, campaignID).Scan(&pos); err != nil {
		return 0, err
	}
	now, added := q.now(), 0
	for _, c := range in {
		vars := c.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		pos++
		n, err := q.ex.execRows(ctx, `INSERT INTO campaign_contacts (tenant_id, campaign_id, contact, attempts, last_status,
			last_call_id, next_action, updated_at, name, time_zone, variables, state, position)
			VALUES ($1, $2, $3, 0, '', '', '', $4, $5, $6, $7, 'pending', $8) ON CONFLICT (tenant_id, campaign_id, contact) DO NOTHING`,
			tenantID, campaignID, c.Phone, now, c.Name, c.TimeZone, jsonArg(vars), pos)
		if err != nil {
			return added, err
		}
		added += int(n)
	}
	return added, nil
}

const dialContactColumns = campaignContactColumns + `, name, time_zone, variables, state, next_at, position`

func scanDialContact(r row) (*callscope.DialContact, error) {
	var dc callscope.DialContact
	var status, vars string
	if err := r.Scan(&dc.CampaignID, &dc.Contact, &dc.Attempts, &status, &dc.LastCallID, &dc.NextAction, &dc.UpdatedAt,
		&dc.Name, &dc.TimeZone, &vars, &dc.State, &dc.NextAt, &dc.Position); err != nil {
		return nil, err
	}
	dc.LastStatus = callscope.CallStatus(status)
	dc.UpdatedAt = dc.UpdatedAt.UTC()
	if dc.NextAt != nil {
		t := dc.NextAt.UTC()
		dc.NextAt = &t
	}
	dc.Variables = map[string]string{}
	if err := json.Unmarshal([]byte(vars), &dc.Variables); err != nil {
		return nil, err
	}
	return &dc, nil
}

func (q *queries) dialContacts(ctx context.Context, query string, args ...any) ([]*callscope.DialContact, error) {
	rs, err := q.ex.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.DialContact{}
	for rs.Next() {
		dc, err := scanDialContact(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, dc)
	}
	return out, rs.Err()
}

// DueCampaignContacts returns up to limit pending contacts of a campaign
// due at now, first those never called (in list order), then by due time.
func (q *queries) DueCampaignContacts(ctx context.Context, tenantID, campaignID string, now time.Time, limit int) ([]*callscope.DialContact, error) {
	return q.dialContacts(ctx, `SELECT `+dialContactColumns+` FROM campaign_contacts
		WHERE tenant_id = $1 AND campaign_id = $2 AND state = 'pending' AND (next_at IS NULL OR next_at <= $3)
		ORDER BY CASE WHEN next_at IS NULL THEN 0 ELSE 1 END, next_at, position LIMIT $4`, tenantID, campaignID, now, limit)
}

// DialContact returns one contact of a campaign. Returns ENOTFOUND if the
// campaign has no such contact.
func (q *queries) DialContact(ctx context.Context, tenantID, campaignID, contact string) (*callscope.DialContact, error) {
	dc, err := scanDialContact(q.ex.queryRow(ctx, `SELECT `+dialContactColumns+` FROM campaign_contacts
		WHERE tenant_id = $1 AND campaign_id = $2 AND contact = $3`, tenantID, campaignID, contact))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "campaign contact not found")
	}
	return dc, err
}

// DialContacts lists a campaign's contacts in list order, optionally only
// those in one state.
func (q *queries) DialContacts(ctx context.Context, tenantID, campaignID, state string) ([]*callscope.DialContact, error) {
	where, args := `tenant_id = $1 AND campaign_id = $2`, []any{tenantID, campaignID}
	if state != "" {
		where += ` AND state = $3`
		args = append(args, state)
	}
	return q.dialContacts(ctx, `SELECT `+dialContactColumns+` FROM campaign_contacts WHERE `+where+` ORDER BY position, contact`, args...)
}

// SetContactState moves a campaign contact to state; callID, when not "",
// becomes its last call; nextAt is when it may be called next.
func (q *queries) SetContactState(ctx context.Context, tenantID, campaignID, contact, state, callID string, nextAt *time.Time) error {
	return q.exec(ctx, `UPDATE campaign_contacts SET state = $4, next_at = $5, updated_at = $6,
		last_call_id = CASE WHEN $7 = '' THEN last_call_id ELSE $7 END
		WHERE tenant_id = $1 AND campaign_id = $2 AND contact = $3`,
		tenantID, campaignID, contact, state, nextAt, q.now(), callID)
}

// CancelPendingContacts moves a campaign's pending contacts to cancelled.
func (q *queries) CancelPendingContacts(ctx context.Context, tenantID, campaignID string) (int64, error) {
	return q.ex.execRows(ctx, `UPDATE campaign_contacts SET state = 'cancelled', next_at = NULL, updated_at = $3
		WHERE tenant_id = $1 AND campaign_id = $2 AND state = 'pending'`, tenantID, campaignID, q.now())
}

// CampaignProgress counts a campaign's contacts by state, and their
// attempts.
func (q *queries) CampaignProgress(ctx context.Context, tenantID, campaignID string) (*callscope.CampaignProgress, error) {
	rs, err := q.ex.query(ctx, `SELECT state, count(*), CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM campaign_contacts
		WHERE tenant_id = $1 AND campaign_id = $2 GROUP BY state`, tenantID, campaignID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	p := &callscope.CampaignProgress{ByState: map[string]int{}}
	for _, s := range callscope.ContactStates {
		p.ByState[s] = 0
	}
	for rs.Next() {
		var state string
		var n, attempts int
		if err := rs.Scan(&state, &n, &attempts); err != nil {
			return nil, err
		}
		p.ByState[state] += n
		p.Contacts += n
		p.Attempts += attempts
	}
	return p, rs.Err()
}

// CampaignHasWork reports whether a campaign has contacts pending or in
// progress.
func (q *queries) CampaignHasWork(ctx context.Context, tenantID, campaignID string) (bool, error) {
	var n int
	err := q.ex.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM campaign_contacts WHERE tenant_id = $1 AND campaign_id = $2
		AND state IN ('pending', 'in_progress') LIMIT 1) w`, tenantID, campaignID).Scan(&n)
	return n > 0, err
}

// InProgressContacts counts a campaign's contacts in progress.
func (q *queries) InProgressContacts(ctx context.Context, tenantID, campaignID string) (int, error) {
	var n int
	err := q.ex.queryRow(ctx, `SELECT count(*) FROM campaign_contacts WHERE tenant_id = $1 AND campaign_id = $2 AND state = 'in_progress'`,
		tenantID, campaignID).Scan(&n)
	return n, err
}

// LogCampaign appends an entry to a campaign's log.
func (q *queries) LogCampaign(ctx context.Context, e *callscope.CampaignLogEntry) error {
	e.ID = callscope.NewID()
	if e.At.IsZero() {
		e.At = q.now()
	}
	return q.exec(ctx, `INSERT INTO campaign_log (id, tenant_id, campaign_id, contact, call_id, attempt, event, outcome, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.TenantID, e.CampaignID, e.Contact, e.CallID, e.Attempt, e.Event, e.Outcome, e.Reason, callscope.Timestamp(e.At))
}

// CampaignLog lists a campaign's log in order, after the cursor (an entry
// id; "" for the first page), optionally only entries of one event.
func (q *queries) CampaignLog(ctx context.Context, tenantID, campaignID, event, cursor string, limit int) ([]*callscope.CampaignLogEntry, error) {
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = callscope.MaxPageSize
	}
	where, args := `tenant_id = $1 AND campaign_id = $2`, []any{tenantID, campaignID}
	if cursor != "" {
		args = append(args, cursor)
		where += ` AND id > $` + itoa(len(args))
	}
	if event != "" {
		args = append(args, event)
		where += ` AND event = $` + itoa(len(args))
	}
	args = append(args, limit)
	rs, err := q.ex.query(ctx, `SELECT id, tenant_id, campaign_id, contact, call_id, attempt, event, outcome, reason, at
		FROM campaign_log WHERE `+where+` ORDER BY id LIMIT $`+itoa(len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.CampaignLogEntry{}
	for rs.Next() {
		var e callscope.CampaignLogEntry
		if err := rs.Scan(&e.ID, &e.TenantID, &e.CampaignID, &e.Contact, &e.CallID, &e.Attempt, &e.Event, &e.Outcome, &e.Reason, &e.At); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		out = append(out, &e)
	}
	return out, rs.Err()
}

// AddDoNotCall puts a number on the tenant's do-not-call list; a number on
// it already keeps its first entry. It returns the entry as stored and
// whether it was added now.
func (q *queries) AddDoNotCall(ctx context.Context, e *callscope.DoNotCallEntry) (*callscope.DoNotCallEntry, bool, error) {
	n, err := q.ex.execRows(ctx, `INSERT INTO do_not_call (tenant_id, number, source, call_id, reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, number) DO NOTHING`,
		e.TenantID, e.Number, e.Source, e.CallID, e.Reason, q.now())
	if err != nil {
		return nil, false, err
	}
	got, err := q.DoNotCall(ctx, e.TenantID, e.Number)
	return got, n == 1, err
}

const dncColumns = `tenant_id, number, source, call_id, reason, created_at`

func scanDNC(r row) (*callscope.DoNotCallEntry, error) {
	var e callscope.DoNotCallEntry
	if err := r.Scan(&e.TenantID, &e.Number, &e.Source, &e.CallID, &e.Reason, &e.CreatedAt); err != nil {
		return nil, err
	}
	e.CreatedAt = e.CreatedAt.UTC()
	return &e, nil
}

// DoNotCall returns the tenant's do-not-call entry for number. Returns
// ENOTFOUND if the number is not on the list.
func (q *queries) DoNotCall(ctx context.Context, tenantID, number string) (*callscope.DoNotCallEntry, error) {
	e, err := scanDNC(q.ex.queryRow(ctx, `SELECT `+dncColumns+` FROM do_not_call WHERE tenant_id = $1 AND number = $2`, tenantID, number))
	if callscope.ErrorCode(err) != callscope.ENOTFOUND {
		return e, err
	}
	// A contact of the contact book marked do-not-call is on the list
	// too, for as long as the mark stays.
	var contactID string
	var updated time.Time
	err = q.ex.queryRow(ctx, `SELECT c.id, c.updated_at FROM contact_numbers n JOIN contacts c ON c.id = n.contact_id
		WHERE n.tenant_id = $1 AND n.number = $2 AND c.do_not_call`, tenantID, number).Scan(&contactID, &updated)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "Number not on the do-not-call list")
	}
	if err != nil {
		return nil, err
	}
	return &callscope.DoNotCallEntry{TenantID: tenantID, Number: number, Source: callscope.DNCSourceContact,
		Reason: "contact " + contactID + " is marked do-not-call", CreatedAt: updated.UTC()}, nil
}

// DoNotCallList lists the tenant's do-not-call list in number order, after
// the cursor (a number; "" for the first page).
func (q *queries) DoNotCallList(ctx context.Context, tenantID, cursor string, limit int) ([]*callscope.DoNotCallEntry, error) {
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = callscope.MaxPageSize
	}
	rs, err := q.ex.query(ctx, `SELECT `+dncColumns+` FROM do_not_call WHERE tenant_id = $1 AND number > $2 ORDER BY number LIMIT $3`,
		tenantID, cursor, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.DoNotCallEntry{}
	for rs.Next() {
		e, err := scanDNC(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rs.Err()
}

// DeleteDoNotCall takes a number off the tenant's do-not-call list.
// Returns ENOTFOUND if it is not on it.
func (q *queries) DeleteDoNotCall(ctx context.Context, tenantID, number string) error {
	n, err := q.ex.execRows(ctx, `DELETE FROM do_not_call WHERE tenant_id = $1 AND number = $2`, tenantID, number)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "Number not on the do-not-call list")
	}
	return err
}
