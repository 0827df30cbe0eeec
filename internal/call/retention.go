package call

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

// retentionBatch is how many rows of one kind a retention pass takes at a
// time, so that no transaction grows with the backlog.
const retentionBatch = 200

// RetentionReport is what one retention run removed, per tenant id and
// kind ("recordings", "recording_objects", "transcripts", "segments",
// "deliveries", …).
type RetentionReport struct {
	Tenants map[string]map[string]int `json:"tenants"`
	// IdempotencyKeys counts the Idempotency-Key answers forgotten, once
	// older than IdempotencyKeyLifetime.
	IdempotencyKeys int `json:"idempotency_keys,omitempty"`
	// Errors name what could not be removed; the next run tries again.
	Errors []string `json:"errors,omitempty"`
}

// IdempotencyKeyLifetime is how long the first answer to an
// Idempotency-Key is kept: a key sent again within it gets that answer;
// after it (and the next retention run) the key is new again.
const IdempotencyKeyLifetime = 24 * time.Hour

// ApplyRetention removes, for every tenant with retention settings, the
// recordings (rows and stored audio), transcripts and results, and delivery
// log entries older than the tenant's periods at now, skipping calls under
// legal hold, and records what it removed in each tenant's erasure audit
// log (actor "retention"). For every tenant, it forgets the Idempotency-Key
// answers older than IdempotencyKeyLifetime.
func (s *Service) ApplyRetention(ctx context.Context, now time.Time) (*RetentionReport, error) {
	tenants, err := s.Store.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	rep := &RetentionReport{Tenants: map[string]map[string]int{}}
	if rep.IdempotencyKeys, err = s.Store.DeleteIdempotencyKeysBefore(ctx, now.Add(-IdempotencyKeyLifetime)); err != nil {
		return rep, err
	}
	for _, t := range tenants {
		recordings, transcripts, deliveries := t.Settings.Retention.Periods()
		removed := map[string]int{}
		if recordings > 0 {
			if err := s.expireRecordings(ctx, t.ID, now.Add(-recordings), removed, rep); err != nil {
				return rep, err
			}
		}
		if transcripts > 0 {
			if err := s.expireTranscripts(ctx, t.ID, now.Add(-transcripts), removed); err != nil {
				return rep, err
			}
		}
		if deliveries > 0 {
			for {
				n, err := s.Store.DeleteExpiredDeliveries(ctx, t.ID, now.Add(-deliveries), retentionBatch)
				if err != nil {
					return rep, err
				}
				removed["deliveries"] += n
				if n < retentionBatch {
					break
				}
			}
			if removed["deliveries"] == 0 {
				delete(removed, "deliveries")
			}
		}
		if len(removed) == 0 {
			continue
		}
		rep.Tenants[t.ID] = removed
		if err := s.Store.CreateDeletion(ctx, &callscope.Deletion{TenantID: t.ID, Actor: "retention",
			Reason: "retention settings", Removed: removed}); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// expireRecordings deletes each expired recording's stored audio, then its
// row; a recording whose audio cannot be deleted keeps its row, so that the
// next run tries again.
func (s *Service) expireRecordings(ctx context.Context, tenantID string, before time.Time, removed map[string]int, rep *RetentionReport) error {
	failed := map[string]bool{}
	for {
		recs, err := s.Store.ExpiredRecordings(ctx, tenantID, before, retentionBatch+len(failed))
		if err != nil {
			return err
		}
		progress := false
		for _, rec := range recs {
			if failed[rec.ID] {
				continue
			}
			if keys := localKeys([]string{rec.StorageKey}); len(keys) > 0 {
				if err := s.deleteObjects(ctx, keys); err != nil {
					failed[rec.ID] = true
					rep.Errors = append(rep.Errors, "recording "+rec.ID+": "+err.Error())
					continue
				}
				removed["recording_objects"]++
			}
			if err := s.Store.DeleteRecording(ctx, rec.ID); err != nil {
				return err
			}
			removed["recordings"]++
			progress = true
		}
		if !progress {
			return nil
		}
	}
}

// expireTranscripts erases the transcripts and results of expired calls,
// one call per transaction.
func (s *Service) expireTranscripts(ctx context.Context, tenantID string, before time.Time, removed map[string]int) error {
	for {
		ids, err := s.Store.ExpiredTranscriptCalls(ctx, tenantID, before, retentionBatch)
		if err != nil {
			return err
		}
		for _, id := range ids {
			err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
				if err := tx.LockCall(ctx, id); err != nil {
					return err
				}
				n, err := tx.EraseTranscript(ctx, id)
				for k, v := range n {
					if k != "call_results" {
						removed[k] += v
					}
				}
				return err
			})
			if err != nil {
				return err
			}
			removed["transcripts"]++
		}
		if len(ids) < retentionBatch {
			return nil
		}
	}
}

// RetentionWorker works the periodic retention job.
type RetentionWorker struct {
	river.WorkerDefaults[job.RetentionArgs]
	Calls  *Service
	Logger *slog.Logger
}

// Work implements river.Worker: it applies retention, logs what it removed
// and keeps the report as the job's output.
func (w *RetentionWorker) Work(ctx context.Context, j *river.Job[job.RetentionArgs]) error {
	rep, err := w.Calls.ApplyRetention(ctx, w.Calls.now())
	if rep != nil {
		for tenant, removed := range rep.Tenants {
			w.logger().Info("retention removed data", "tenant_id", tenant, "removed", removed)
		}
		for _, e := range rep.Errors {
			w.logger().Warn("retention could not remove", "error", e)
		}
		if oerr := river.RecordOutput(ctx, rep); oerr != nil && err == nil {
			err = oerr
		}
	}
	return err
}

// Timeout implements river.Worker: a first run over a long backlog may
// take longer than a call's processing; what it removed stays removed if
// it is cut short, and the next run carries on.
func (w *RetentionWorker) Timeout(*river.Job[job.RetentionArgs]) time.Duration {
	return 30 * time.Minute
}

func (w *RetentionWorker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
