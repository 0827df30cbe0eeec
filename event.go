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
	EventCallDTMF           = "call.dtmf"
	EventCallRiskRaised     = "call.risk_raised"
	// EventClassificationCorrected: a person changed the call's category.
	EventClassificationCorrected = "classification.corrected"
)

// EventData is the payload of one event type. Every event type has exactly
// one payload type (EventPayloads), so every event of a type has one shape.
type EventData interface {
	// EventType is the type of the event this payload is recorded as.
	EventType() string
}

// CallRefData names the call an event is about: the id its owner knows it
// by (call_id, its first external id) and callscope's own id.
type CallRefData struct {
	CallID string `json:"call_id"`
	ID     string `json:"id"`
}

// RefOf returns the CallRefData of c.
func RefOf(c *Call) CallRefData { return CallRefData{CallID: c.PublicID(), ID: c.ID} }

// CallCreatedData is the payload of call.created.
type CallCreatedData struct {
	CallRefData
	Direction Direction  `json:"direction"`
	Status    CallStatus `json:"status"`
}

// CallStartedData is the payload of call.started: a call was answered or
// its live session began.
type CallStartedData struct {
	CallRefData
	Status    CallStatus `json:"status"`
	StartedAt *time.Time `json:"started_at,omitempty"`
}

// CallEndedData is the payload of call.completed and call.failed: the call
// reached a final status. Its status decides the event type.
type CallEndedData struct {
	CallRefData
	Status          CallStatus `json:"status"`
	Reason          string     `json:"reason,omitempty"`
	DisconnectedBy  string     `json:"disconnected_by,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds"`
}

// TranscriptionReadyData is the payload of transcription.ready.
type TranscriptionReadyData struct {
	CallRefData
	SegmentCount int `json:"segment_count"`
}

// RecordingReadyData is the payload of recording.ready.
type RecordingReadyData struct {
	CallRefData
	RecordingID  string `json:"recording_id,omitempty"`
	RecordingURL string `json:"recording_url"`
}

// AnalysisCompletedData is the payload of analysis.completed.
type AnalysisCompletedData struct {
	CallRefData
	Stages  []StageRun `json:"stages"`
	Summary string     `json:"summary,omitempty"`
}

// ProcessingFailedData is the payload of processing.failed.
type ProcessingFailedData struct {
	CallRefData
	Stage string `json:"stage"`
	Error string `json:"error"`
}

// CallDTMFData is the payload of call.dtmf: a key pressed during a live
// call, at Offset seconds from the start of its audio.
type CallDTMFData struct {
	CallRefData
	Digit  string  `json:"digit"`
	Offset float64 `json:"offset_seconds"`
	// Track names the party the key came from when the stream tells
	// (inbound, outbound); empty otherwise.
	Track string `json:"track,omitempty"`
}

// EventType implements EventData.
func (CallDTMFData) EventType() string { return EventCallDTMF }

// RiskRaisedData is the payload of call.risk_raised: progressive analysis
// of a call in progress put its risk above what it was before.
type RiskRaisedData struct {
	CallRefData
	From     string `json:"from"`
	Risk     string `json:"risk"`
	Category string `json:"category,omitempty"`
	// Window is the progressive-analysis window that raised it.
	Window int `json:"window"`
	// Evidence is the text that weighed most, when the classifier gives
	// it.
	Evidence []string `json:"evidence,omitempty"`
}

// EventType implements EventData.
func (RiskRaisedData) EventType() string { return EventCallRiskRaised }

// EventType implements EventData.
func (CallCreatedData) EventType() string { return EventCallCreated }

// EventType implements EventData.
func (CallStartedData) EventType() string { return EventCallStarted }

// EventType implements EventData: call.failed for a failed call,
// call.completed for every other final status.
func (d CallEndedData) EventType() string {
	if d.Status == CallFailed {
		return EventCallFailed
	}
	return EventCallCompleted
}

// EventType implements EventData.
func (TranscriptionReadyData) EventType() string { return EventTranscriptionReady }

// EventType implements EventData.
func (RecordingReadyData) EventType() string { return EventRecordingReady }

// EventType implements EventData.
func (AnalysisCompletedData) EventType() string { return EventAnalysisCompleted }

// EventType implements EventData.
func (ProcessingFailedData) EventType() string { return EventProcessingFailed }

// EventPayloads gives, for every event type, a new value of its one payload
// type, to decode an event's data into.
var EventPayloads = map[string]func() EventData{
	EventCallCreated:             func() EventData { return &CallCreatedData{} },
	EventCallStarted:             func() EventData { return &CallStartedData{} },
	EventCallCompleted:           func() EventData { return &CallEndedData{} },
	EventCallDTMF:                func() EventData { return &CallDTMFData{} },
	EventCallFailed:              func() EventData { return &CallEndedData{} },
	EventTranscriptionReady:      func() EventData { return &TranscriptionReadyData{} },
	EventRecordingReady:          func() EventData { return &RecordingReadyData{} },
	EventAnalysisCompleted:       func() EventData { return &AnalysisCompletedData{} },
	EventProcessingFailed:        func() EventData { return &ProcessingFailedData{} },
	EventCallRiskRaised:          func() EventData { return &RiskRaisedData{} },
	EventClassificationCorrected: func() EventData { return &ClassificationCorrectedData{} },
	EventContactEnriched:         func() EventData { return &ContactEnrichedData{} },
}

// EventTypes lists every event type, in the order receivers see them
// documented.
var EventTypes = []string{
	EventCallCreated, EventCallStarted, EventCallCompleted, EventCallFailed, EventTranscriptionReady,
	EventRecordingReady, EventAnalysisCompleted, EventProcessingFailed, EventCallDTMF, EventCallRiskRaised,
	EventClassificationCorrected, EventContactEnriched,
}

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
