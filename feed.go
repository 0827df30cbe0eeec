package callscope

import "encoding/json"

// The live feed (the Server-Sent Events of a call and of a tenant) carries
// every event, plus two kinds of its own that are too frequent to deliver
// as webhooks: the transcript growing and progressive analysis concluding.
const (
	FeedSegment  = "transcript.segment"
	FeedSnapshot = "analysis.snapshot"
)

// FeedTypes lists the kinds the live feed carries besides the event types.
var FeedTypes = []string{FeedSegment, FeedSnapshot}

// SegmentFeedData is the data of a transcript.segment feed item: segments
// appended to a call's transcript.
type SegmentFeedData struct {
	CallRefData
	Segments []Segment `json:"segments"`
}

// SnapshotFeedData is the data of an analysis.snapshot feed item: one
// window of a call's progressive analysis.
type SnapshotFeedData struct {
	CallRefData
	Kind        string  `json:"kind"`
	WindowIndex int     `json:"window_index"`
	WindowStart float64 `json:"window_start"`
	WindowEnd   float64 `json:"window_end"`
	// Changed says whether the window's conclusion differs from the
	// previous window's of its kind (true for the first).
	Changed bool            `json:"changed"`
	Data    json.RawMessage `json:"data"`
}
