package call

import (
	"context"
	"encoding/json"
	"path"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/voicebot"
)

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // values here are built from JSON-safe types
	}
	return b
}

// MergeResults stores a voice-bot platform's call results (seed 004) for
// tenant: merged into the call found by session_id without letting absent
// fields erase stored ones, with the recording's stable URL, the events and
// the fan-out (campaign reconciliation, CRM push, processing when the
// tenant wants it) in the same transaction. p must have a session_id.
func (s *Service) MergeResults(ctx context.Context, tenant *callscope.Tenant, p voicebot.Payload) error {
	sid := p.String("session_id")
	// The work that needs no lock (reading the call, merging, encoding) is
	// done before the transaction, from a snapshot; the transaction checks
	// the snapshot still holds and redoes the work only if it does not.
	prep, err := s.prepareResults(ctx, s.Store, tenant, p)
	if err != nil {
		return err
	}
	// Two first posts for one session may race to create the call: the
	// session id is unique, so the loser's insert fails, and it finds the
	// call on its second try. An update checks that the call is still as
	// it was read.
	check := !prep.created
	return retryConflicts(func() error {
		err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
			if check {
				id, at, err := tx.LockCallVersion(ctx, tenant.ID, sid)
				if callscope.ErrorCode(err) == callscope.ENOTFOUND {
					id, err = "", nil
				}
				if err != nil {
					return err
				}
				if id != prep.callID || !at.Equal(prep.version) {
					if prep, err = s.prepareResults(ctx, tx, tenant, p); err != nil {
						return err
					}
				}
			}
			return s.storeResults(ctx, tx, tenant, prep)
		})
		check = true
		return err
	})
}

// resultsReader is what preparing results reads: the store or a
// transaction.
type resultsReader interface {
	Call(ctx context.Context, tenantID, ref string) (*callscope.Call, error)
	Recordings(ctx context.Context, callID string) ([]*callscope.Recording, error)
	RecordingByToken(ctx context.Context, token string) (*callscope.Recording, error)
}

// preparedResults is one results payload turned into the changes to make.
type preparedResults struct {
	callID  string    // "" when the call is to be created
	version time.Time // the call's updated_at when read
	call    *callscope.Call
	enc     *sqlstore.EncodedCall
	created bool
	prev    callscope.CallStatus
	doc     voicebot.Payload
	segs    []callscope.Segment // nil when the payload has no transcript
	rec     *callscope.Recording
	hasRec  bool
}

// prepareResults merges a results payload into the call as read from rd,
// without writing anything.
func (s *Service) prepareResults(ctx context.Context, rd resultsReader, tenant *callscope.Tenant, p voicebot.Payload) (*preparedResults, error) {
	sid := p.String("session_id")
	now := s.now()
	pr := &preparedResults{}
	c, err := rd.Call(ctx, tenant.ID, sid)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		pr.created = true
		c = &callscope.Call{TenantID: tenant.ID, Direction: callscope.Inbound, Status: callscope.CallInProgress,
			ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtSessionID, Value: sid}}}
	} else if err != nil {
		return nil, err
	} else {
		pr.callID, pr.version = c.ID, c.UpdatedAt
	}
	pr.call, pr.prev = c, c.Status

	var stored voicebot.Payload
	if raw, ok := c.Raw["call_results"]; ok {
		_ = json.Unmarshal(raw, &stored)
	}
	doc := voicebot.Merge(stored, p)

	// The recording: a stable token-based URL, minted once and kept.
	pr.hasRec = doc.Has("recording_url") || doc.Has("recording_key")
	if pr.hasRec {
		var rec *callscope.Recording
		if !pr.created {
			recs, err := rd.Recordings(ctx, c.ID)
			if err != nil {
				return nil, err
			}
			for _, x := range recs {
				if (x.SourceURL != "" && x.SourceURL == doc.String("recording_url")) ||
					(x.StorageKey != "" && x.StorageKey == "remote:"+doc.String("recording_key")) ||
					(x.AccessToken != "" && x.AccessToken == stored.String("recording_access_token")) {
					rec = x
					break
				}
			}
		}
		token := p.String("recording_access_token")
		if token != "" {
			if token, err = ownToken(ctx, rd, token, rec); err != nil {
				return nil, err
			}
		}
		if token == "" && rec != nil {
			token = rec.AccessToken
		}
		if token == "" {
			token = stored.String("recording_access_token")
		}
		if token == "" {
			token = voicebot.NewToken()
		}
		doc["recording_access_token"] = rawJSON(token)
		if rec == nil {
			rec = &callscope.Recording{TenantID: tenant.ID, Channels: 1}
		}
		rec.AccessToken = token
		rec.SourceURL = doc.String("recording_url")
		if k := doc.String("recording_key"); k != "" {
			rec.StorageKey = "remote:" + strings.TrimPrefix(k, "remote:")
		}
		rec.Format, rec.ContentType = formatFromName(rec.SourceURL + rec.StorageKey)
		pr.rec = rec
	}
	if p.Has("usage_metrics") {
		if sum, ok := voicebot.CacheSummary(doc["usage_metrics"]); ok {
			doc["llm_cache_summary"] = rawJSON(sum)
		}
	}
	if p.Has("transcript") {
		pr.segs = voicebot.Segments(p["transcript"])
		if pr.segs == nil {
			pr.segs = []callscope.Segment{}
		}
	}

	// The call record's own fields, from the merged document.
	if v := doc.String("from_number"); v != "" {
		c.From = v
	} else if v := doc.String("caller_id"); v != "" && c.From == "" {
		c.From = v
	}
	if v := doc.String("to_number"); v != "" {
		c.To = v
	}
	if d := voicebot.Direction(doc.String("call_direction")); d != "" {
		c.Direction = d
	}
	if d, ok := doc.Number("call_duration_seconds"); ok && d >= 0 {
		c.DurationSeconds = d
	}
	c.DisconnectedBy = doc.String("disconnected_by")
	if pr.created {
		c.Status = voicebot.StatusFrom(c.DisconnectedBy)
	} else {
		// The platform's results are the call's outcome: they may correct
		// one final status into another.
		c.Status, _ = callscope.NextStatus(c.Status, voicebot.StatusFrom(c.DisconnectedBy), callscope.Outcome)
	}
	if c.Status == callscope.CallFailed && c.ErrorInfo == "" {
		c.ErrorInfo = "disconnected_by: " + c.DisconnectedBy
	}
	c.CompletedAt = &now
	if c.EndedAt == nil {
		c.EndedAt = &now
	}
	if c.StartedAt == nil {
		start := now.Add(-time.Duration(c.DurationSeconds * float64(time.Second)))
		c.StartedAt = &start
	}
	if v := doc.String("campaign_id"); v != "" {
		c.CampaignID = v
	}
	if c.Raw == nil {
		c.Raw = map[string]json.RawMessage{}
	}
	enc, err := doc.MarshalJSON()
	if err != nil {
		return nil, err
	}
	c.Raw["call_results"] = enc
	pr.doc = doc
	pr.enc = sqlstore.EncodeCall(c)
	return pr, nil
}

// storeResults writes prepared results, in tx.
func (s *Service) storeResults(ctx context.Context, tx *sqlstore.Tx, tenant *callscope.Tenant, pr *preparedResults) error {
	c, doc, rec := pr.call, pr.doc, pr.rec
	if pr.created {
		if err := tx.CreateEncodedCall(ctx, pr.enc); err != nil {
			return err
		}
	} else if err := tx.UpdateEncodedCall(ctx, pr.enc); err != nil {
		return err
	}
	if streamID := doc.String("stream_id"); streamID != "" {
		// A stream id another call already owns stays in the document only.
		if _, _, err := tx.CallVersion(ctx, tenant.ID, streamID); callscope.ErrorCode(err) == callscope.ENOTFOUND {
			if err := tx.AddExternalID(ctx, c, callscope.ExternalID{Kind: callscope.ExtStreamID, Value: streamID}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	var events []callscope.EventData
	if pr.segs != nil {
		replace := tx.ReplaceSegments
		if pr.created {
			replace = tx.PutNewCallSegments
		}
		if err := replace(ctx, c.ID, pr.segs); err != nil {
			return err
		}
		events = append(events, callscope.TranscriptionReadyData{CallRefData: callscope.RefOf(c), SegmentCount: len(pr.segs)})
	}
	if pr.hasRec {
		rec.CallID = c.ID
		if rec.ID == "" {
			if err := tx.CreateRecording(ctx, rec); err != nil {
				return err
			}
			events = append(events, callscope.RecordingReadyData{CallRefData: callscope.RefOf(c), RecordingID: rec.ID,
				RecordingURL: RecordingPath(rec.AccessToken)})
		} else if err := tx.UpdateRecording(ctx, rec); err != nil {
			return err
		}
	}
	if pr.created || pr.prev != c.Status {
		events = append(events, callscope.CallEndedData{CallRefData: callscope.RefOf(c), Status: c.Status,
			DisconnectedBy: c.DisconnectedBy, EndedAt: c.EndedAt, DurationSeconds: c.DurationSeconds})
	}
	if len(events) > 0 {
		if _, err := s.Queue.RecordEvents(ctx, tx, c, events...); err != nil {
			return err
		}
	}

	// Fan-out: campaign reconciliation for every call (a no-op outside
	// campaigns), CRM push when configured and not skipped, processing when
	// the tenant wants it.
	s.Queue.EnqueueCampaignReconcile(tx, tenant.ID, c.ID)
	if tenant.Settings.CRMPush != nil && !doc.Bool("skip_post_push") {
		s.Queue.Enqueue(tx, deliver.CRMPushArgs{TenantID: tenant.ID, CallID: c.ID}, nil)
	}
	if tenant.Settings.ProcessCallResults && s.ProcessingEnabled {
		// New results are processed again, unless a run is already due.
		if _, err := s.requestProcessing(ctx, tx, c, true); err != nil {
			return err
		}
	}
	return nil
}

// formatFromName guesses a recording's format and content type from a file
// name or URL.
func formatFromName(name string) (format, contentType string) {
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	switch strings.ToLower(strings.TrimPrefix(path.Ext(name), ".")) {
	case "mp3":
		return "mp3", "audio/mpeg"
	case "wav":
		return "wav", "audio/wav"
	case "ogg", "oga", "opus":
		return "ogg", "audio/ogg"
	case "gsm":
		return "gsm", "audio/x-gsm"
	case "m4a", "mp4":
		return "m4a", "audio/mp4"
	case "webm":
		return "webm", "audio/webm"
	case "flac":
		return "flac", "audio/flac"
	}
	return "", "application/octet-stream"
}
