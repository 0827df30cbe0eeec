package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// segmentView is one transcript segment, its text with entities marked.
type segmentView struct {
	ID         int
	Speaker    string
	Start, End float64
	HTML       template.HTML
}

// speakerView sums up one speaker's part of the call.
type speakerView struct {
	Name     string
	Segments int
	Seconds  float64
}

// evidenceView is one piece of text a classification weighed.
type evidenceView struct {
	Phrase    string
	SegmentID int
	Detail    string
}

// classificationView is a call's classification as the page shows it.
type classificationView struct {
	Category, Label, Taxonomy, Risk string
	Confidence                      float64
	Evidence, RiskEvidence          []evidenceView
	Corrected                       bool
}

// summaryView is a call's summary.
type summaryView struct {
	Text      string
	Agreed    []string
	NextSteps []string
}

// qaItemView is one rubric item's score.
type qaItemView struct {
	Label string
	Score float64
}

// qaView is a call's QA score.
type qaView struct {
	Rubric string
	Score  float64
	Items  []qaItemView
}

// entityView is one entity found in the transcript.
type entityView struct {
	Type, Text string
	SegmentID  int
}

// runView is one analyzer run.
type runView struct {
	ID        string
	Text      string
	CreatedAt time.Time
}

// groupView is one analyzer's runs on the call, oldest first.
type groupView struct {
	AnalyzerID string
	Name       string
	Runs       []runView
}

// stageView is one pipeline stage of the processing timeline.
type stageView struct {
	Stage     string
	Status    string
	Reason    string
	StartedAt time.Time
	Seconds   float64
	Engine    string
	// What the stage used: audio transcribed, model tokens, cost.
	AudioSeconds float64
	Tokens       int
	Cost         float64
}

// callPage is the call page's content.
type callPage struct {
	Call         *callscope.Call
	Live         bool
	Started      time.Time
	HasRecording bool
	Segments     []segmentView
	// Transcript is the segments as list items, written in one pass:
	// a long call's thousand lines through the template engine would
	// cost most of the page's render time.
	Transcript     template.HTML
	Speakers       []speakerView
	Translation    string
	Classification *classificationView
	Summary        *summaryView
	QA             *qaView
	Entities       []entityView
	Groups         []groupView
	RunCount       int
	CanRerun       bool
	RerunBlocked   string
	RerunQueued    bool
	Deliveries     []*callscope.Delivery
	Processing     *callscope.Processing
	Timeline       []stageView
	HasEvents      bool
	// CanReplay offers a replay of webhook deliveries.
	CanReplay bool
	Replayed  bool
	// Todos and Contact are read through the API when it is set.
	HasTodos bool
	Todos    []todoItem
	Contact  *contactItem
}

func (c *Console) handleCall(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	call, err := c.Store.Call(ctx, s.user.TenantID, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	segs, err := c.Store.Segments(ctx, call.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	recs, err := c.Store.Recordings(ctx, call.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	runs, err := c.Store.AnalyzerRuns(ctx, call.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	analyzers, err := c.Store.Analyzers(ctx, call.TenantID, false)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	deliveries, err := c.Store.Deliveries(ctx, call.TenantID, call.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	proc, err := c.Store.Processing(ctx, call.ID)
	if err != nil && callscope.ErrorCode(err) != callscope.ENOTFOUND {
		c.fail(w, r, s, err)
		return
	}
	p := callPage{Call: call, Live: isActive(call.Status), Started: startOf(call), HasRecording: len(recs) > 0,
		Translation: call.Translation, Deliveries: deliveries, Processing: proc, RunCount: len(runs),
		RerunQueued: r.URL.Query().Get("rerun") == "queued", HasEvents: c.Events != nil,
		CanReplay: c.API != nil, Replayed: r.URL.Query().Get("replayed") != ""}
	if c.API != nil {
		p.HasTodos = true
		if p.Todos, err = c.callTodos(ctx, s, call.ID); err != nil {
			c.fail(w, r, s, err)
			return
		}
		if p.Contact, err = c.callContact(ctx, s, call); err != nil {
			c.fail(w, r, s, err)
			return
		}
	}
	entities := parseEntities(call.Entities)
	p.Segments, p.Speakers = segmentViews(segs, entities)
	p.Transcript = transcriptHTML(p.Segments)
	for _, e := range entities {
		p.Entities = append(p.Entities, entityView{Type: e.Type, Text: e.Text, SegmentID: e.SegmentID})
	}
	p.Classification = parseClassification(call.Classification)
	p.Summary = parseSummary(call.Summary)
	p.QA = parseQA(call.QA)
	p.Groups = groups(runs, analyzers)
	active := 0
	for _, a := range analyzers {
		if a.Active {
			active++
		}
	}
	switch {
	case !hasWords(segs):
		p.RerunBlocked = "The call has no transcript to analyse yet."
	case active == 0:
		p.RerunBlocked = "Your organization has no active analyzer. Create one with POST /api/analyzers."
	default:
		p.CanRerun = true
	}
	if proc != nil {
		for _, st := range proc.Stages {
			p.Timeline = append(p.Timeline, stageView{Stage: st.Stage, Status: st.Status, Reason: st.Reason,
				StartedAt: st.StartedAt, Seconds: st.Seconds, Engine: engineOf(call, st.Stage),
				AudioSeconds: st.AudioSeconds, Tokens: st.Tokens, Cost: st.Cost})
		}
	}
	title := call.Title
	if title == "" && call.From == "" && call.To == "" {
		title = "Call from an unknown number"
	} else if title == "" {
		title = "Call " + call.From + " → " + call.To
	}
	c.render(w, r, "call", http.StatusOK, page{Title: title, Nav: "calls", User: s.user, CSRF: s.sess.CSRFToken, Content: p})
}

// transcriptHTML writes the transcript's list items: the segment's start
// as a link, its speaker and its text with entities marked.
func transcriptHTML(segs []segmentView) template.HTML {
	var b strings.Builder
	b.Grow(len(segs) * 160)
	for _, s := range segs {
		id := strconv.Itoa(s.ID)
		b.WriteString(`<li id="seg-`)
		b.WriteString(id)
		b.WriteString(`" data-start="`)
		b.WriteString(strconv.FormatFloat(s.Start, 'f', -1, 64))
		b.WriteString(`" data-end="`)
		b.WriteString(strconv.FormatFloat(s.End, 'f', -1, 64))
		b.WriteString(`"><a href="#seg-`)
		b.WriteString(id)
		b.WriteString(`">`)
		b.WriteString(clock(s.Start))
		b.WriteString(`</a><b>`)
		b.WriteString(template.HTMLEscapeString(s.Speaker))
		b.WriteString(`</b><span>`)
		b.WriteString(string(s.HTML))
		b.WriteString("</span></li>\n")
	}
	return template.HTML(b.String())
}

func hasWords(segs []callscope.Segment) bool {
	for _, s := range segs {
		if strings.TrimSpace(s.Text) != "" {
			return true
		}
	}
	return false
}

// engineOf names the engine a stage used when the call's metadata records
// it (translation_model, transcribe_engine, …).
func engineOf(c *callscope.Call, stage string) string {
	for _, k := range []string{stage + "_engine", stage + "_model", strings.TrimSuffix(stage, "e") + "ion_model"} {
		if v, ok := c.Metadata[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// entity is an entity as the pipeline stores it.
type entity struct {
	Type      string `json:"type"`
	Text      string `json:"text"`
	SegmentID int    `json:"segment_id"`
	Start     int    `json:"start"`
	End       int    `json:"end"`
}

// parseEntities reads the entities document: a list, or an object with an
// "entities" list.
func parseEntities(raw json.RawMessage) []entity {
	if len(raw) == 0 {
		return nil
	}
	var list []entity
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var obj struct {
		Entities []entity `json:"entities"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.Entities
}

// segmentViews renders the transcript with the entities of each segment
// marked, and sums up the speakers in order of first appearance.
func segmentViews(segs []callscope.Segment, entities []entity) ([]segmentView, []speakerView) {
	bySeg := map[int][]entity{}
	for _, e := range entities {
		bySeg[e.SegmentID] = append(bySeg[e.SegmentID], e)
	}
	out := make([]segmentView, 0, len(segs))
	var speakers []speakerView
	index := map[string]int{}
	for _, s := range segs {
		out = append(out, segmentView{ID: s.SegmentID, Speaker: s.Speaker, Start: s.StartTime, End: s.EndTime, HTML: markEntities(s.Text, bySeg[s.SegmentID])})
		name := s.Speaker
		if name == "" {
			name = "unknown"
		}
		i, ok := index[name]
		if !ok {
			i = len(speakers)
			index[name] = i
			speakers = append(speakers, speakerView{Name: name})
		}
		speakers[i].Segments++
		speakers[i].Seconds += max(0, s.EndTime-s.StartTime)
	}
	return out, speakers
}

// markEntities escapes text and wraps each entity in a <mark>. An entity's
// offsets are in characters; when they do not match its text, its first
// occurrence is marked instead.
func markEntities(text string, ents []entity) template.HTML {
	if len(ents) == 0 {
		return template.HTML(template.HTMLEscapeString(text))
	}
	runes := []rune(text)
	type span struct {
		start, end int
		typ        string
	}
	var spans []span
	for _, e := range ents {
		st, en := e.Start, e.End
		if st < 0 || en > len(runes) || st >= en || string(runes[st:en]) != e.Text {
			i := strings.Index(text, e.Text)
			if e.Text == "" || i < 0 {
				continue
			}
			st = len([]rune(text[:i]))
			en = st + len([]rune(e.Text))
		}
		spans = append(spans, span{st, en, e.Type})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var b strings.Builder
	at := 0
	for _, sp := range spans {
		if sp.start < at {
			continue // overlaps the previous one
		}
		b.WriteString(template.HTMLEscapeString(string(runes[at:sp.start])))
		typ := template.HTMLEscapeString(sp.typ)
		b.WriteString(`<mark class="entity" data-type="` + typ + `" title="` + typ + `">`)
		b.WriteString(template.HTMLEscapeString(string(runes[sp.start:sp.end])))
		b.WriteString(`</mark>`)
		at = sp.end
	}
	b.WriteString(template.HTMLEscapeString(string(runes[at:])))
	return template.HTML(b.String())
}

func parseClassification(raw json.RawMessage) *classificationView {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	type ev struct {
		SegmentID int     `json:"segment_id"`
		Phrase    string  `json:"phrase"`
		Term      string  `json:"term"`
		Category  string  `json:"category"`
		Level     string  `json:"level"`
		Weight    float64 `json:"weight"`
	}
	var v struct {
		Taxonomy     string          `json:"taxonomy"`
		Category     string          `json:"category"`
		Label        string          `json:"label"`
		Confidence   float64         `json:"confidence"`
		Risk         string          `json:"risk"`
		Evidence     []ev            `json:"evidence"`
		RiskEvidence []ev            `json:"risk_evidence"`
		Corrected    json.RawMessage `json:"corrected"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	conv := func(in []ev) []evidenceView {
		var out []evidenceView
		for _, e := range in {
			phrase := e.Phrase
			if phrase == "" {
				phrase = e.Term
			}
			detail := e.Category
			if e.Level != "" {
				detail = e.Level
			}
			out = append(out, evidenceView{Phrase: phrase, SegmentID: e.SegmentID, Detail: detail})
		}
		return out
	}
	return &classificationView{Category: v.Category, Label: v.Label, Taxonomy: v.Taxonomy, Risk: v.Risk, Confidence: v.Confidence,
		Evidence: conv(v.Evidence), RiskEvidence: conv(v.RiskEvidence), Corrected: len(v.Corrected) > 0 && string(v.Corrected) != "null"}
}

func parseSummary(raw json.RawMessage) *summaryView {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return &summaryView{Text: text}
	}
	var v summaryView
	var doc struct {
		Text      string   `json:"text"`
		Summary   string   `json:"summary"`
		Agreed    []string `json:"agreed"`
		NextSteps []string `json:"next_steps"`
	}
	if json.Unmarshal(raw, &doc) != nil {
		return nil
	}
	v.Text, v.Agreed, v.NextSteps = doc.Text, doc.Agreed, doc.NextSteps
	if v.Text == "" {
		v.Text = doc.Summary
	}
	return &v
}

func parseQA(raw json.RawMessage) *qaView {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var doc struct {
		Rubric string  `json:"rubric"`
		Score  float64 `json:"score"`
		Items  []struct {
			Label string  `json:"label"`
			Score float64 `json:"score"`
		} `json:"items"`
	}
	if json.Unmarshal(raw, &doc) != nil {
		return nil
	}
	v := &qaView{Rubric: doc.Rubric, Score: doc.Score}
	for _, it := range doc.Items {
		v.Items = append(v.Items, qaItemView{Label: it.Label, Score: it.Score})
	}
	return v
}

// groups groups a call's runs by analyzer, in the order of their first
// run, named after the analyzer as it is now (or as its last run recorded).
func groups(runs []*callscope.AnalyzerRun, analyzers []*callscope.Analyzer) []groupView {
	names := map[string]string{}
	for _, a := range analyzers {
		names[a.ID] = a.Name
	}
	var out []groupView
	index := map[string]int{}
	for _, r := range runs {
		i, ok := index[r.AnalyzerID]
		if !ok {
			i = len(out)
			index[r.AnalyzerID] = i
			out = append(out, groupView{AnalyzerID: r.AnalyzerID})
		}
		g := &out[i]
		g.Name = r.AnalyzerName
		if n, ok := names[r.AnalyzerID]; ok {
			g.Name = n
		}
		g.Runs = append(g.Runs, runView{ID: r.ID, Text: r.AnalysisText, CreatedAt: r.CreatedAt})
	}
	return out
}

func (c *Console) handleRerun(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	call, err := c.Store.Call(ctx, s.user.TenantID, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	segs, err := c.Store.Segments(ctx, call.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if !hasWords(segs) {
		c.fail(w, r, s, callscope.Errorf(callscope.ECONFLICT, "The call has no transcript to analyse yet."))
		return
	}
	analyzers, err := c.Store.Analyzers(ctx, call.TenantID, true)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if len(analyzers) == 0 {
		c.fail(w, r, s, callscope.Errorf(callscope.ECONFLICT, "Your organization has no active analyzer."))
		return
	}
	if c.Analysis == nil {
		c.fail(w, r, s, callscope.Errorf(callscope.ECONFLICT, "Analyzers cannot be run from this server."))
		return
	}
	if _, err := c.Analysis.Rerun(ctx, call, analyzers); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.Logger.Info("console rerun", "user", s.user.ID, "call", call.ID, "analyzers", len(analyzers))
	http.Redirect(w, r, "/calls/"+call.ID+"?rerun=queued#analysis", http.StatusSeeOther)
}

func (c *Console) handleRecording(w http.ResponseWriter, r *http.Request, s *session) {
	if c.Recording == nil {
		c.fail(w, r, s, callscope.Errorf(callscope.ENOTFOUND, "no recordings here"))
		return
	}
	if err := c.Recording(w, r, s.user.TenantID, r.PathValue("id")); err != nil {
		if callscope.ErrorCode(err) == callscope.ENOTFOUND {
			c.renderError(w, r, s, http.StatusNotFound, "No recording", "This call has no recording.")
			return
		}
		c.fail(w, r, s, err)
	}
}

func (c *Console) handleEvents(w http.ResponseWriter, r *http.Request, s *session) {
	if c.Events == nil {
		c.renderError(w, r, s, http.StatusNotFound, "Not found", "Live events are not served here.")
		return
	}
	if err := c.Events(w, r, s.user.TenantID, r.PathValue("id")); err != nil {
		c.fail(w, r, s, err)
	}
}
