package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/callscope/callscope"
)

const webhookColumns = `id, tenant_id, url, description, event_types, enabled, secret, previous_secret,
	previous_secret_expires_at, disabled_reason, created_at, updated_at`

// scanWebhook reads an endpoint and opens its sealed secrets.
func (q *queries) scanWebhook(r row) (*callscope.WebhookEndpoint, error) {
	var w callscope.WebhookEndpoint
	var types []byte
	if err := r.Scan(&w.ID, &w.TenantID, &w.URL, &w.Description, &types, &w.Enabled, &w.Secret, &w.PreviousSecret,
		&w.PreviousSecretExpiresAt, &w.DisabledReason, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, err
	}
	if len(types) > 0 {
		if err := json.Unmarshal(types, &w.EventTypes); err != nil {
			return nil, err
		}
	}
	if w.EventTypes == nil {
		w.EventTypes = []string{}
	}
	var err error
	if w.Secret, err = q.open("webhook endpoint "+w.ID+" secret", w.Secret); err != nil {
		return nil, err
	}
	if w.PreviousSecret, err = q.open("webhook endpoint "+w.ID+" previous secret", w.PreviousSecret); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	if w.PreviousSecretExpiresAt != nil {
		t := w.PreviousSecretExpiresAt.UTC()
		w.PreviousSecretExpiresAt = &t
	}
	return &w, nil
}

func typesArg(types []string) any {
	if types == nil {
		types = []string{}
	}
	return jsonArg(types)
}

// CreateWebhookEndpoint stores a new endpoint, filling in ID, CreatedAt and
// UpdatedAt. Its secrets are stored sealed.
func (q *queries) CreateWebhookEndpoint(ctx context.Context, w *callscope.WebhookEndpoint) error {
	secret, previous, err := q.sealWebhookSecrets(w)
	if err != nil {
		return err
	}
	w.ID = "wh_" + callscope.NewID()
	w.CreatedAt = q.now()
	w.UpdatedAt = w.CreatedAt
	return q.exec(ctx, `INSERT INTO webhook_endpoints (`+webhookColumns+`) VALUES (`+placeholders(1, 12)+`)`,
		w.ID, w.TenantID, w.URL, w.Description, typesArg(w.EventTypes), w.Enabled, secret, previous,
		w.PreviousSecretExpiresAt, w.DisabledReason, w.CreatedAt, w.UpdatedAt)
}

// sealWebhookSecrets returns an endpoint's secrets sealed for storage; w
// keeps them in the clear.
func (q *queries) sealWebhookSecrets(w *callscope.WebhookEndpoint) (secret, previous string, err error) {
	if secret, err = q.seal("webhook secret", w.Secret); err != nil {
		return "", "", err
	}
	if previous, err = q.seal("webhook previous secret", w.PreviousSecret); err != nil {
		return "", "", err
	}
	return secret, previous, nil
}

// WebhookEndpoint returns one of the tenant's endpoints. Returns ENOTFOUND
// if the tenant has no such endpoint.
func (q *queries) WebhookEndpoint(ctx context.Context, tenantID, id string) (*callscope.WebhookEndpoint, error) {
	w, err := q.scanWebhook(q.ex.queryRow(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "webhook endpoint not found")
	}
	return w, err
}

// WebhookEndpoints lists the tenant's endpoints, oldest first; with
// enabledOnly, only the enabled ones.
func (q *queries) WebhookEndpoints(ctx context.Context, tenantID string, enabledOnly bool) ([]*callscope.WebhookEndpoint, error) {
	query := `SELECT ` + webhookColumns + ` FROM webhook_endpoints WHERE tenant_id = $1`
	if enabledOnly {
		query += ` AND enabled`
	}
	rs, err := q.ex.query(ctx, query+` ORDER BY id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.WebhookEndpoint{}
	for rs.Next() {
		w, err := q.scanWebhook(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rs.Err()
}

// UpdateWebhookEndpoint writes back every field of an endpoint but its id,
// tenant and creation time. Returns ENOTFOUND if it does not exist.
func (q *queries) UpdateWebhookEndpoint(ctx context.Context, w *callscope.WebhookEndpoint) error {
	secret, previous, err := q.sealWebhookSecrets(w)
	if err != nil {
		return err
	}
	w.UpdatedAt = q.now()
	n, err := q.ex.execRows(ctx, `UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, enabled = $6,
		secret = $7, previous_secret = $8, previous_secret_expires_at = $9, disabled_reason = $10, updated_at = $11
		WHERE tenant_id = $1 AND id = $2`,
		w.TenantID, w.ID, w.URL, w.Description, typesArg(w.EventTypes), w.Enabled, secret, previous,
		w.PreviousSecretExpiresAt, w.DisabledReason, w.UpdatedAt)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "webhook endpoint not found")
	}
	return err
}

// DeleteWebhookEndpoint removes one of the tenant's endpoints; its
// deliveries stay in the log. Returns ENOTFOUND if there is no such
// endpoint.
func (q *queries) DeleteWebhookEndpoint(ctx context.Context, tenantID, id string) error {
	n, err := q.ex.execRows(ctx, `DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "webhook endpoint not found")
	}
	return err
}

const webhookDeliveryColumns = deliveryColumns + `, endpoint_id, message_id`

func scanWebhookDelivery(r row) (*callscope.WebhookDelivery, error) {
	var d callscope.WebhookDelivery
	var payload []byte
	if err := r.Scan(&d.ID, &d.TenantID, &d.CallID, &d.EventID, &d.Channel, &d.Target, &d.Status, &d.Attempts,
		&d.LastError, &payload, &d.CreatedAt, &d.UpdatedAt, &d.DeliveredAt, &d.EndpointID, &d.MessageID); err != nil {
		return nil, err
	}
	d.Payload = rawJSON(payload)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	if d.DeliveredAt != nil {
		t := d.DeliveredAt.UTC()
		d.DeliveredAt = &t
	}
	return &d, nil
}

// CreateWebhookDelivery records a delivery to a webhook endpoint, filling
// in ID, CreatedAt and UpdatedAt.
func (q *queries) CreateWebhookDelivery(ctx context.Context, d *callscope.WebhookDelivery) error {
	d.ID = "dlv_" + callscope.NewID()
	d.CreatedAt = q.now()
	d.UpdatedAt = d.CreatedAt
	if d.Status == "" {
		d.Status = callscope.DeliveryPending
	}
	return q.exec(ctx, `INSERT INTO deliveries (`+webhookDeliveryColumns+`) VALUES (`+placeholders(1, 15)+`)`,
		d.ID, d.TenantID, d.CallID, d.EventID, d.Channel, d.Target, d.Status, d.Attempts, d.LastError,
		jsonArg(d.Payload), d.CreatedAt, d.UpdatedAt, d.DeliveredAt, d.EndpointID, d.MessageID)
}

// callscope.WebhookDelivery returns one delivery by id; with a tenant, only that
// tenant's ("" for any). Returns ENOTFOUND if there is none.
func (q *queries) WebhookDelivery(ctx context.Context, tenantID, id string) (*callscope.WebhookDelivery, error) {
	d, err := scanWebhookDelivery(q.ex.queryRow(ctx, `SELECT `+webhookDeliveryColumns+` FROM deliveries
		WHERE id = $1 AND ($2 = '' OR tenant_id = $2)`, id, tenantID))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "delivery not found")
	}
	return d, err
}

// WebhookDeliveries lists the deliveries made to one of the tenant's
// endpoints, newest first, at most limit of them.
func (q *queries) WebhookDeliveries(ctx context.Context, tenantID, endpointID string, limit int) ([]*callscope.WebhookDelivery, error) {
	rs, err := q.ex.query(ctx, `SELECT `+webhookDeliveryColumns+` FROM deliveries
		WHERE tenant_id = $1 AND endpoint_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`, tenantID, endpointID, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.WebhookDelivery{}
	for rs.Next() {
		d, err := scanWebhookDelivery(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rs.Err()
}

// MaxAttemptResponse bounds the response excerpt kept per attempt.
const MaxAttemptResponse = 1024

// AddDeliveryAttempt logs one attempt, filling in ID. The response excerpt
// is cut to MaxAttemptResponse bytes.
func (q *queries) AddDeliveryAttempt(ctx context.Context, a *callscope.DeliveryAttempt) error {
	a.ID = "att_" + callscope.NewID()
	if len(a.Response) > MaxAttemptResponse {
		a.Response = a.Response[:MaxAttemptResponse]
	}
	a.AttemptedAt = callscope.Timestamp(a.AttemptedAt)
	return q.exec(ctx, `INSERT INTO delivery_attempts (id, delivery_id, attempt, attempted_at, status_code, latency_ms, response, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ID, a.DeliveryID, a.Attempt, a.AttemptedAt, a.StatusCode, a.LatencyMS, a.Response, a.Error)
}

// DeliveryAttempts returns the attempts logged for the deliveries, by
// delivery id, oldest first.
func (q *queries) DeliveryAttempts(ctx context.Context, deliveryIDs []string) (map[string][]*callscope.DeliveryAttempt, error) {
	out := map[string][]*callscope.DeliveryAttempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(deliveryIDs))
	for i, id := range deliveryIDs {
		args[i] = id
	}
	rs, err := q.ex.query(ctx, `SELECT id, delivery_id, attempt, attempted_at, status_code, latency_ms, response, error
		FROM delivery_attempts WHERE delivery_id IN (`+placeholders(1, len(args))+`) ORDER BY delivery_id, attempt`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var a callscope.DeliveryAttempt
		if err := rs.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &a.AttemptedAt, &a.StatusCode, &a.LatencyMS, &a.Response, &a.Error); err != nil {
			return nil, err
		}
		a.AttemptedAt = a.AttemptedAt.UTC()
		out[a.DeliveryID] = append(out[a.DeliveryID], &a)
	}
	return out, rs.Err()
}
