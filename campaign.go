package callscope

import "time"

// Next actions for a campaign contact after a call.
const (
	// CampaignDone means the contact was reached; no more calls.
	CampaignDone = "done"
	// CampaignRetry means the contact should be called again (no answer,
	// busy, failed).
	CampaignRetry = "retry"
	// CampaignVoicemail means the call reached voicemail.
	CampaignVoicemail = "voicemail"
	// CampaignNone means the call's outcome asks for nothing (cancelled).
	CampaignNone = "none"
)

// CampaignContact is the state of one contact of a campaign: how often it
// was called, how the last call ended and what to do next.
type CampaignContact struct {
	CampaignID string     `json:"campaign_id"`
	Contact    string     `json:"contact"`
	Attempts   int        `json:"attempts"`
	LastStatus CallStatus `json:"last_status"`
	LastCallID string     `json:"last_call_id"`
	NextAction string     `json:"next_action"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// CampaignNextAction is what a campaign does next with a contact whose last
// call ended in status s.
func CampaignNextAction(s CallStatus) string {
	switch s {
	case CallCompleted:
		return CampaignDone
	case CallNoAnswer, CallBusy, CallFailed:
		return CampaignRetry
	case CallVoicemail:
		return CampaignVoicemail
	}
	return CampaignNone
}
