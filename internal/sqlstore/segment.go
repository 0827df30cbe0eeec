package sqlstore

import (
	"context"
	"strings"

	"github.com/callscope/callscope"
)

// PutSegments stores segments of a call; a segment whose id the call already
// has replaces the stored one, so sending the same segments twice is
// harmless. Segments go in multi-row statements.
func (q *queries) PutSegments(ctx context.Context, callID string, segs []callscope.Segment) error {
	if err := q.insertSegments(ctx, callID, segs); err != nil {
		return err
	}
	return q.bumpCall(ctx, callID)
}

// PutNewCallSegments stores the segments of a call created in the same
// transaction, which has none yet and whose version is new anyway.
func (q *queries) PutNewCallSegments(ctx context.Context, callID string, segs []callscope.Segment) error {
	return q.insertSegments(ctx, callID, segs)
}

func (q *queries) insertSegments(ctx context.Context, callID string, segs []callscope.Segment) error {
	const perStatement = 100
	for len(segs) > 0 {
		n := min(len(segs), perStatement)
		args := make([]any, 0, 7*n)
		var values strings.Builder
		for i, s := range segs[:n] {
			if i > 0 {
				values.WriteString(", ")
			}
			values.WriteString("(" + placeholders(7*i+1, 7) + ")")
			args = append(args, callID, s.SegmentID, s.Speaker, s.StartTime, s.EndTime, s.Text, s.Confidence)
		}
		err := q.exec(ctx, `INSERT INTO segments (call_id, segment_id, speaker, start_time, end_time, text, confidence)
			VALUES `+values.String()+`
			ON CONFLICT (call_id, segment_id) DO UPDATE SET speaker = excluded.speaker,
				start_time = excluded.start_time, end_time = excluded.end_time,
				text = excluded.text, confidence = excluded.confidence`, args...)
		if err != nil {
			return err
		}
		segs = segs[n:]
	}
	return nil
}

// bumpCall raises a call's version after a change to what it shows that is
// not in its own row (its segments).
func (q *queries) bumpCall(ctx context.Context, callID string) error {
	return q.exec(ctx, `UPDATE calls SET version = version + 1 WHERE id = $1`, callID)
}

// ReplaceSegments removes a call's segments and stores segs instead.
func (q *queries) ReplaceSegments(ctx context.Context, callID string, segs []callscope.Segment) error {
	if err := q.exec(ctx, `DELETE FROM segments WHERE call_id = $1`, callID); err != nil {
		return err
	}
	if len(segs) == 0 {
		return q.bumpCall(ctx, callID)
	}
	return q.PutSegments(ctx, callID, segs)
}

// Segments returns a call's segments ordered by start time.
func (q *queries) Segments(ctx context.Context, callID string) ([]callscope.Segment, error) {
	rs, err := q.ex.query(ctx, `SELECT segment_id, speaker, start_time, end_time, text, confidence
		FROM segments WHERE call_id = $1 ORDER BY start_time, segment_id`, callID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []callscope.Segment{}
	for rs.Next() {
		s := callscope.Segment{CallID: callID}
		if err := rs.Scan(&s.SegmentID, &s.Speaker, &s.StartTime, &s.EndTime, &s.Text, &s.Confidence); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rs.Err()
}

// SegmentStats returns how many segments a call has and the end of the last.
func (q *queries) SegmentStats(ctx context.Context, callID string) (count int, end float64, err error) {
	err = q.ex.queryRow(ctx, `SELECT count(*), COALESCE(MAX(end_time), 0) FROM segments WHERE call_id = $1`, callID).Scan(&count, &end)
	return count, end, err
}
