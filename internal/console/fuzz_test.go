package console

import (
	"encoding/json"
	"html/template"
	"strings"
	"testing"
)

// FuzzCallDocuments feeds the call page's readers of stored result
// documents (which come from pipelines and other platforms) and the entity
// marking whatever bytes: nothing may panic, and the marked transcript must
// carry no markup but its own <mark> elements.
func FuzzCallDocuments(f *testing.F) {
	f.Add(`[{"type":"LOCATION","text":"Kibera","segment_id":0,"start":11,"end":17}]`, "We live in Kibera now")
	f.Add(`{"entities":[{"type":"PERSON","text":"<b>","start":-4,"end":99}]}`, "<b>bold</b> & more")
	f.Add(`[{"type":"\"x","text":"é","start":1,"end":2}]`, "éé")
	f.Fuzz(func(t *testing.T, doc, text string) {
		raw := json.RawMessage(doc)
		parseClassification(raw)
		parseSummary(raw)
		parseQA(raw)
		ents := parseEntities(raw)
		for i := range ents {
			ents[i].SegmentID = 0
		}
		out := string(markEntities(text, ents))
		stripped := strings.NewReplacer("</mark>", "").Replace(out)
		for strings.Contains(stripped, `<mark class="entity"`) {
			i := strings.Index(stripped, `<mark class="entity"`)
			j := strings.Index(stripped[i:], ">")
			stripped = stripped[:i] + stripped[i+j+1:]
		}
		if strings.ContainsAny(stripped, "<>") {
			t.Fatalf("markup leaked: %q from %q", out, text)
		}
		_ = template.HTML(out)
	})
}
