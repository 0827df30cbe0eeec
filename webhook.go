package callscope

import "time"

// WebhookEndpoint is a URL of a tenant that receives its events, signed
// with the endpoint's secret.
type WebhookEndpoint struct {
	ID          string
	TenantID    string
	URL         string
	Description string
	// EventTypes filters the events sent; empty means every type.
	EventTypes []string
	Enabled    bool
	// Secret signs messages (whsec_…). During a rotation, PreviousSecret
	// also signs them until PreviousSecretExpiresAt.
	Secret                  string
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	// DisabledReason says why the endpoint was disabled by callscope
	// (a 410 answer), empty otherwise.
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Wants reports whether the endpoint takes events of type typ.
func (w *WebhookEndpoint) Wants(typ string) bool {
	if len(w.EventTypes) == 0 {
		return true
	}
	for _, t := range w.EventTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// WebhookDelivery is a delivery of an event to one webhook endpoint; every
// attempt of it carries MessageID as webhook-id.
type WebhookDelivery struct {
	Delivery
	EndpointID string
	MessageID  string
}

// DeliveryAttempt is one try at sending a delivery, as logged.
type DeliveryAttempt struct {
	ID          string
	DeliveryID  string
	Attempt     int
	AttemptedAt time.Time
	// StatusCode is the receiver's answer, 0 when there was none.
	StatusCode int
	LatencyMS  int64
	// Response is the start of the answer's body (at most 1 KB).
	Response string
	Error    string
}
