package analyze

import (
	"context"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Service starts analyzer work: a re-run of analyzers on one call, or a
// backfill of one analyzer over past calls. Each is a durable job inserted
// in the transaction that records it.
type Service struct {
	Store *sqlstore.Store
	Queue *job.Queue
}

// Rerun queues one run of each of the analyzers on the call and returns
// the job's id.
func (s *Service) Rerun(ctx context.Context, c *callscope.Call, analyzers []*callscope.Analyzer) (int64, error) {
	args := RunArgs{TenantID: c.TenantID, CallID: c.ID, AnalyzerIDs: make([]string, len(analyzers))}
	for i, a := range analyzers {
		args.AnalyzerIDs[i] = a.ID
	}
	var id int64
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		res, err := s.Queue.InsertTx(ctx, tx, args, nil)
		if err != nil {
			return err
		}
		id = res.Job.ID
		return nil
	})
	return id, err
}

// StartBackfill records a backfill and queues the job that runs it.
func (s *Service) StartBackfill(ctx context.Context, b *callscope.Backfill) error {
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateBackfill(ctx, b); err != nil {
			return err
		}
		s.Queue.Enqueue(tx, BackfillArgs{TenantID: b.TenantID, BackfillID: b.ID}, nil)
		return nil
	})
}
