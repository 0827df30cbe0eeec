package call

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Erase deletes the call ref names with everything recorded about it — its
// segments, recordings (their stored audio too), processing, results,
// analyzer runs, evolution snapshots, events, delivery log and queued jobs —
// and appends who did it (actor) to the tenant's erasure audit log, which
// keeps only the call's id and the counts removed. Returns ENOTFOUND for an
// unknown call and ECONFLICT for a call under legal hold, not yet over, or
// being processed.
// When the call's rows are gone but some of its stored audio could not be
// deleted, it returns the audit entry and an error naming what is left.
func (s *Service) Erase(ctx context.Context, tenantID, ref, actor, reason string) (*callscope.Deletion, error) {
	var d *callscope.Deletion
	var keys []string
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := s.lockedCall(ctx, tx, tenantID, ref)
		if err != nil {
			return err
		}
		if _, err := tx.LegalHold(ctx, c.ID); err == nil {
			return callscope.Errorf(callscope.ECONFLICT, "The call is under legal hold; lift the hold before deleting it")
		} else if callscope.ErrorCode(err) != callscope.ENOTFOUND {
			return err
		}
		if !c.Status.Final() {
			return callscope.Errorf(callscope.ECONFLICT, "The call is %s; end it before deleting it", c.Status)
		}
		// A pipeline run in progress would go on writing about the call
		// (its results, its events) after the erasure.
		if p, err := tx.Processing(ctx, c.ID); err == nil && p.Status == callscope.ProcessingInProgress {
			return callscope.Errorf(callscope.ECONFLICT, "The call is being processed; delete it when processing has finished")
		} else if err != nil && callscope.ErrorCode(err) != callscope.ENOTFOUND {
			return err
		}
		removed, stored, err := tx.EraseCall(ctx, c.ID)
		if err != nil {
			return err
		}
		if n, err := s.Queue.ForgetCall(ctx, tx, c.ID); err != nil {
			return err
		} else if n > 0 {
			removed["jobs"] = n
		}
		keys = localKeys(stored)
		if len(keys) > 0 {
			removed["recording_objects"] = len(keys)
		}
		d = &callscope.Deletion{TenantID: c.TenantID, CallID: c.ID, Actor: actor, Reason: reason, Removed: removed}
		return tx.CreateDeletion(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	return d, s.deleteObjects(ctx, keys)
}

// localKeys drops the keys of recordings kept elsewhere (a voice-bot
// platform's "remote:" recordings), which the recording store does not hold.
func localKeys(keys []string) []string {
	var out []string
	for _, k := range keys {
		if k != "" && !strings.HasPrefix(k, "remote:") {
			out = append(out, k)
		}
	}
	return out
}

// deleteObjects deletes keys from the recording store, trying each.
func (s *Service) deleteObjects(ctx context.Context, keys []string) error {
	if s.Recordings == nil || len(keys) == 0 {
		return nil
	}
	var errs []error
	for _, k := range keys {
		if err := s.Recordings.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("recording store: %d of %d objects not deleted: %w", len(errs), len(keys), errors.Join(errs...))
	}
	return nil
}

// SetLegalHold places a legal hold on the call ref names, by actor for
// reason; placing it again replaces the reason. Returns ENOTFOUND for an
// unknown call.
func (s *Service) SetLegalHold(ctx context.Context, tenantID, ref, actor, reason string) (*callscope.LegalHold, error) {
	if len(reason) > 1000 {
		return nil, callscope.Errorf(callscope.EINVALID, "A legal hold's reason is at most 1000 characters")
	}
	var h *callscope.LegalHold
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := s.lockedCall(ctx, tx, tenantID, ref)
		if err != nil {
			return err
		}
		h = &callscope.LegalHold{CallID: c.ID, TenantID: c.TenantID, Reason: reason, SetBy: actor}
		return tx.PutLegalHold(ctx, h)
	})
	return h, err
}

// LiftLegalHold lifts the legal hold on the call ref names; lifting a hold
// that is not there changes nothing. Returns ENOTFOUND for an unknown call.
func (s *Service) LiftLegalHold(ctx context.Context, tenantID, ref string) error {
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := s.lockedCall(ctx, tx, tenantID, ref)
		if err != nil {
			return err
		}
		_, err = tx.DeleteLegalHold(ctx, c.ID)
		return err
	})
}
