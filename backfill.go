package callscope

import "time"

// Backfill statuses: queued → running → completed | cancelled | failed.
const (
	BackfillQueued    = "queued"
	BackfillRunning   = "running"
	BackfillCompleted = "completed"
	BackfillCancelled = "cancelled"
	BackfillFailed    = "failed"
)

// BackfillFilter selects the past calls a backfill runs its analyzer on.
// Only calls with a transcript are selected. Zero fields select everything.
type BackfillFilter struct {
	// From and To bound the calls' created_at (inclusive, exclusive).
	From   *time.Time   `json:"from,omitempty"`
	To     *time.Time   `json:"to,omitempty"`
	Status []CallStatus `json:"status,omitempty"`
	// Limit is the most calls to run on, newest first; 0 means all.
	Limit int `json:"limit,omitempty"`
}

// Backfill is one analyzer re-run over past calls by a durable job. The job
// walks the matching calls newest first; ResumeAfter is the id of the last
// call it finished, where a restarted job picks up.
type Backfill struct {
	ID          string
	TenantID    string
	AnalyzerID  string
	Filter      BackfillFilter
	Status      string
	Total       int
	Done        int
	Failed      int
	ResumeAfter string
	LastError   string
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	CancelledAt *time.Time
	UpdatedAt   time.Time
}

// Finished reports whether the backfill has stopped for good.
func (b *Backfill) Finished() bool {
	return b.Status == BackfillCompleted || b.Status == BackfillCancelled || b.Status == BackfillFailed
}
