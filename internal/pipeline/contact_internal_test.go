package pipeline

import (
	"maps"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/nlp"
)

// TestRemoteFacts runs the built-in entity extractor on transcripts and
// checks which values enrichment would take for the remote party.
func TestRemoteFacts(t *testing.T) {
	for _, tc := range []struct {
		name string
		segs []callscope.Segment
		want map[string]string
	}{
		{"OwnNameAndEmail", []callscope.Segment{
			{SegmentID: 1, Speaker: "agent", Text: "Good morning, Acme support, this is Brian. How can I help?"},
			{SegmentID: 2, Speaker: "caller", Text: "Hello, my name is Peter Kamau and my email is peter.kamau@example.org."},
		}, map[string]string{"name": "Peter Kamau", "email": "peter.kamau@example.org"}},
		{"AgentNameIsNotTheCallers", []callscope.Segment{
			{SegmentID: 1, Speaker: "Agent", Text: "Child helpline, my name is Grace. How can I help you?"},
			{SegmentID: 2, Speaker: "caller", Text: "I need help please."},
		}, map[string]string{}},
		{"MentionedNameIsNotTheCallers", []callscope.Segment{
			{SegmentID: 1, Speaker: "caller", Text: "My neighbour John Otieno beats his children every day."},
		}, map[string]string{}},
		{"Organisation", []callscope.Segment{
			{SegmentID: 1, Speaker: "customer", Text: "Hi, I'm calling from Zebra Logistics Limited about our invoice."},
		}, map[string]string{"organization": "Zebra Logistics Limited"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ents := nlp.Default().ExtractEntities(tc.segs, nlp.Options{})
			got := remoteFacts(tc.segs, ents)
			if !maps.Equal(got, tc.want) {
				t.Errorf("remoteFacts = %v, want %v (entities %+v)", got, tc.want, ents)
			}
		})
	}
}
