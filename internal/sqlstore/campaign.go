package sqlstore

import (
	"context"

	"github.com/callscope/callscope"
)

// ReconcileCampaignCall records a call's outcome against its campaign
// contact. A call counts as one attempt however often it is reconciled; a
// call reconciled again with a new status updates the contact's last status
// without counting again. Returns EINVALID for a call outside a campaign or
// without a final status.
func (q *queries) ReconcileCampaignCall(ctx context.Context, c *callscope.Call, contact string) (*callscope.CampaignContact, error) {
	if c.CampaignID == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "call %s is not part of a campaign", c.ID)
	}
	if !c.Status.Final() {
		return nil, callscope.Errorf(callscope.EINVALID, "call %s has not ended (status %s)", c.ID, c.Status)
	}
	if contact == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "call %s names no contact", c.ID)
	}
	now := q.now()
	n, err := q.ex.execRows(ctx, `INSERT INTO campaign_calls (tenant_id, call_id, campaign_id, contact, status)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, call_id) DO NOTHING`,
		c.TenantID, c.ID, c.CampaignID, contact, string(c.Status))
	if err != nil {
		return nil, err
	}
	next := callscope.CampaignNextAction(c.Status)
	if n == 1 {
		err = q.exec(ctx, `INSERT INTO campaign_contacts (tenant_id, campaign_id, contact, attempts, last_status,
			last_call_id, next_action, updated_at) VALUES ($1, $2, $3, 1, $4, $5, $6, $7)
			ON CONFLICT (tenant_id, campaign_id, contact) DO UPDATE SET attempts = campaign_contacts.attempts + 1,
			last_status = excluded.last_status, last_call_id = excluded.last_call_id,
			next_action = excluded.next_action, updated_at = excluded.updated_at`,
			c.TenantID, c.CampaignID, contact, string(c.Status), c.ID, next, now)
	} else {
		// Counted before: only a changed outcome of the contact's latest call
		// is written.
		if err = q.exec(ctx, `UPDATE campaign_calls SET status = $3 WHERE tenant_id = $1 AND call_id = $2`,
			c.TenantID, c.ID, string(c.Status)); err != nil {
			return nil, err
		}
		err = q.exec(ctx, `UPDATE campaign_contacts SET last_status = $4, next_action = $5, updated_at = $6
			WHERE tenant_id = $1 AND campaign_id = $2 AND contact = $3 AND last_call_id = $7
			AND (last_status <> $4 OR next_action <> $5)`,
			c.TenantID, c.CampaignID, contact, string(c.Status), next, now, c.ID)
	}
	if err != nil {
		return nil, err
	}
	return q.CampaignContact(ctx, c.TenantID, c.CampaignID, contact)
}

// CallOutcomes reads just what reconciling calls with their campaigns
// needs (id, tenant, campaign, status, direction and numbers) of the
// tenant's calls ids, keyed by id. Calls that do not exist are left out.
func (q *queries) CallOutcomes(ctx context.Context, tenantID string, ids []string) (map[string]*callscope.Call, error) {
	out := make(map[string]*callscope.Call, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{tenantID}
	for _, id := range ids {
		args = append(args, id)
	}
	rs, err := q.ex.query(ctx, `SELECT id, campaign_id, status, direction, from_number, to_number FROM calls
		WHERE tenant_id = $1 AND id IN (`+placeholders(2, len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		c := &callscope.Call{TenantID: tenantID}
		var status, dir string
		if err := rs.Scan(&c.ID, &c.CampaignID, &status, &dir, &c.From, &c.To); err != nil {
			return nil, err
		}
		c.Status, c.Direction = callscope.CallStatus(status), callscope.Direction(dir)
		out[c.ID] = c
	}
	return out, rs.Err()
}

const campaignContactColumns = `campaign_id, contact, attempts, last_status, last_call_id, next_action, updated_at`

func scanCampaignContact(r row) (*callscope.CampaignContact, error) {
	var cc callscope.CampaignContact
	var status string
	if err := r.Scan(&cc.CampaignID, &cc.Contact, &cc.Attempts, &status, &cc.LastCallID, &cc.NextAction, &cc.UpdatedAt); err != nil {
		return nil, err
	}
	cc.LastStatus = callscope.CallStatus(status)
	cc.UpdatedAt = cc.UpdatedAt.UTC()
	return &cc, nil
}

// callscope.CampaignContact returns one contact's state. Returns ENOTFOUND if the
// contact was never reconciled.
func (q *queries) CampaignContact(ctx context.Context, tenantID, campaignID, contact string) (*callscope.CampaignContact, error) {
	cc, err := scanCampaignContact(q.ex.queryRow(ctx, `SELECT `+campaignContactColumns+` FROM campaign_contacts
		WHERE tenant_id = $1 AND campaign_id = $2 AND contact = $3`, tenantID, campaignID, contact))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "campaign contact not found")
	}
	return cc, err
}

// CampaignContacts lists a campaign's contacts in contact order.
func (q *queries) CampaignContacts(ctx context.Context, tenantID, campaignID string) ([]*callscope.CampaignContact, error) {
	rs, err := q.ex.query(ctx, `SELECT `+campaignContactColumns+` FROM campaign_contacts
		WHERE tenant_id = $1 AND campaign_id = $2 ORDER BY contact`, tenantID, campaignID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.CampaignContact{}
	for rs.Next() {
		cc, err := scanCampaignContact(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, cc)
	}
	return out, rs.Err()
}
