package callscope

import "time"

// ClassificationCorrection is a person's correction of a call's category:
// the reviewer's category replaces the classifier's, and the transcript it
// was made on teaches the tenant's learned model.
type ClassificationCorrection struct {
	ID       string `json:"id"`
	TenantID string `json:"-"`
	CallID   string `json:"call_id"`
	// Taxonomy is the name of the tenant's taxonomy when it was made.
	Taxonomy         string `json:"taxonomy"`
	PreviousCategory string `json:"previous_category"`
	Category         string `json:"category"`
	Note             string `json:"note,omitempty"`
	// Reviewer is who made it, as the caller names them (a console user);
	// KeyID is the API key it came with ("" from a trusted network).
	Reviewer  string    `json:"reviewer,omitempty"`
	KeyID     string    `json:"key_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Text is the call's transcript when it was made, what the learned
	// model reads.
	Text string `json:"-"`
}

// ClassificationCorrectedData is the payload of classification.corrected.
type ClassificationCorrectedData struct {
	CallRefData
	CorrectionID     string `json:"correction_id"`
	Category         string `json:"category"`
	PreviousCategory string `json:"previous_category"`
	Reviewer         string `json:"reviewer,omitempty"`
	Note             string `json:"note,omitempty"`
}

// EventType implements EventData.
func (ClassificationCorrectedData) EventType() string { return EventClassificationCorrected }
