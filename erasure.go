package callscope

import (
	"strconv"
	"strings"
	"time"
)

// LegalHold keeps a call from being erased: deleting it is refused
// (ECONFLICT) and retention skips it until the hold is lifted.
type LegalHold struct {
	CallID    string    `json:"call_id"`
	TenantID  string    `json:"-"`
	Reason    string    `json:"reason"`
	SetBy     string    `json:"set_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Deletion is one entry of the erasure audit log: who erased which call
// (Actor "api_key:…", "trusted_network", "cli:…"), or what one retention run
// removed (Actor "retention", CallID ""). It keeps counts, never content.
type Deletion struct {
	ID        string         `json:"id"`
	TenantID  string         `json:"tenant_id"`
	CallID    string         `json:"call_id,omitempty"`
	Actor     string         `json:"actor"`
	Reason    string         `json:"reason,omitempty"`
	Removed   map[string]int `json:"removed"`
	CreatedAt time.Time      `json:"created_at"`
}

// RetentionSetting is how long a tenant keeps each kind of data, as a
// period such as "30d" or "12h": {"recordings": "30d", "transcripts":
// "90d", "deliveries": "14d"}. An empty period keeps that kind forever.
// Calls under legal hold are always kept.
type RetentionSetting struct {
	// Recordings: recording rows and their stored audio, by recording age.
	Recordings string `json:"recordings,omitempty"`
	// Transcripts: segments, translation, results, analyzer runs and
	// evolution snapshots of calls, by call age. The call row itself stays.
	Transcripts string `json:"transcripts,omitempty"`
	// Deliveries: the delivery log and its attempts, by delivery age.
	Deliveries string `json:"deliveries,omitempty"`
}

// SettingRetention is the settings key of RetentionSetting.
const SettingRetention = "retention"

// MaxRetention bounds a retention period (100 years).
const MaxRetention = 36500 * 24 * time.Hour

// ParseRetentionPeriod reads a retention period: a whole number of days
// ("30d") or hours ("12h"), at least one hour and at most MaxRetention.
func ParseRetentionPeriod(s string) (time.Duration, error) {
	bad := Errorf(EINVALID, "A retention period is a whole number of days or hours, such as 30d or 12h")
	if len(s) < 2 || len(s) > 10 {
		return 0, bad
	}
	unit := time.Hour
	switch s[len(s)-1] {
	case 'd':
		unit = 24 * time.Hour
	case 'h':
	default:
		return 0, bad
	}
	digits := s[:len(s)-1]
	if strings.TrimLeft(digits, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 1 || n > int64(MaxRetention/unit) {
		return 0, Errorf(EINVALID, "A retention period is between 1h and %dd", int64(MaxRetention/(24*time.Hour)))
	}
	return time.Duration(n) * unit, nil
}

// Periods returns the setting's periods, zero where a kind is kept forever.
// Periods that do not parse (stored before validation) are zero too.
func (r *RetentionSetting) Periods() (recordings, transcripts, deliveries time.Duration) {
	if r == nil {
		return 0, 0, 0
	}
	p := func(s string) time.Duration {
		if s == "" {
			return 0
		}
		d, _ := ParseRetentionPeriod(s)
		return d
	}
	return p(r.Recordings), p(r.Transcripts), p(r.Deliveries)
}

func (r *RetentionSetting) validate(bad func(msg, typ string, k ...string)) {
	for _, kv := range [][2]string{{"recordings", r.Recordings}, {"transcripts", r.Transcripts}, {"deliveries", r.Deliveries}} {
		if kv[1] == "" {
			continue
		}
		if _, err := ParseRetentionPeriod(kv[1]); err != nil {
			bad(ErrorMessage(err), "value_error", SettingRetention, kv[0])
		}
	}
}
