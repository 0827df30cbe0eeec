package callscope

import (
	"encoding/json"
	"time"
)

// Event types recorded for call state changes that matter to receivers.
const (
	EventCallCreated        = "call.created"
	EventCallStarted        = "call.started"
	EventCallCompleted      = "call.completed"
	EventCallFailed         = "call.failed"
	EventTranscriptionReady = "transcription.ready"
	EventRecordingReady     = "recording.ready"
	EventAnalysisCompleted  = "analysis.completed"
	EventProcessingFailed   = "processing.failed"
)

// Event is a recorded change of a call, with a stable id that every delivery
// of it carries.
type Event struct {
	ID        string          `json:"id"`
	TenantID  string          `json:"-"`
	CallID    string          `json:"call_id,omitempty"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one message sent (or to be sent) out for an event or a call:
// a webhook, an e-mail, an agent notification, a CRM push.
type Delivery struct {
	ID          string          `json:"id"`
	TenantID    string          `json:"-"`
	CallID      string          `json:"call_id,omitempty"`
	EventID     string          `json:"event_id,omitempty"`
	Channel     string          `json:"channel"` // webhook, callback, email, agent, crm
	Target      string          `json:"target"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	LastError   string          `json:"last_error,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	DeliveredAt *time.Time      `json:"delivered_at,omitempty"`
}
