package live

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

// Progressive analysis (seed 001 §3.9–3.12): while a realtime or hybrid
// call goes on, each time enough new text has arrived, the transcript so
// far is analysed again — entities and classification over all of it,
// translation of the new text — and the results are stored as one window
// of evolution snapshots. A window that raises the call's risk to high
// records a call.risk_raised event, which notifies the agent service.
const (
	// DefaultProgressiveChars is how much new transcript text (in
	// characters) a window needs.
	DefaultProgressiveChars = 150
	// DefaultProgressiveInterval is how long after the previous window
	// (or the start of the call) the next may be taken.
	DefaultProgressiveInterval = 30 * time.Second
	// progressiveTimeout bounds one window's analysis.
	progressiveTimeout = time.Minute
)

// progress is a session's progressive-analysis state; the session's mutex
// guards it.
type progress struct {
	heard    int       // characters transcribed so far
	analysed int       // characters the last window saw
	last     time.Time // when the last window was taken
	running  bool
	window   int
	until    float64 // audio seconds the last window reached
	risk     string
	category string
	entities any
}

// heardText counts text transcribed for the call.
func (s *session) heardText(n int) {
	s.mu.Lock()
	s.prog.heard += n
	s.mu.Unlock()
}

func (m *Sessions) progressiveOn(mode callscope.ProcessingMode) bool {
	return m.Engines != nil && (mode == callscope.ModeRealtime || mode == callscope.ModeHybrid)
}

// maybeAnalyse starts a window when enough new text has arrived and enough
// time has passed since the last one (any new text at all when final, the
// end of the call). A final window runs before it returns; others run in
// the background, one at a time per call.
func (s *session) maybeAnalyse(final bool) {
	if !s.m.progressiveOn(s.mode) {
		return
	}
	chars, every := s.m.ProgressiveChars, s.m.ProgressiveInterval
	if chars <= 0 {
		chars = DefaultProgressiveChars
	}
	if every <= 0 {
		every = DefaultProgressiveInterval
	}
	s.mu.Lock()
	p := &s.prog
	fresh := p.heard - p.analysed
	due := !p.running && fresh > 0 && (final || fresh >= chars && s.m.now().Sub(p.last) >= every)
	if due {
		p.running = true
		p.analysed = p.heard
		p.last = s.m.now()
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if final {
		s.analyse()
		return
	}
	s.speaking.Add(1)
	go func() {
		defer s.speaking.Done()
		s.analyse()
	}()
}

// analyse takes one window.
func (s *session) analyse() {
	defer func() {
		s.mu.Lock()
		s.prog.running = false
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), progressiveTimeout)
	defer cancel()
	segs, err := s.m.Calls.Store.Segments(ctx, s.call.ID)
	if err != nil || len(segs) == 0 {
		if err != nil {
			s.log.Warn("progressive analysis: transcript not read", "err", err)
		}
		return
	}
	eng := s.m.Engines(s.tenant)
	lang := s.call.Language
	if lang == "" {
		lang = nlp.DetectLanguage(segs).Language
	}
	in := pipeline.Input{Call: s.call, Segments: segs, Language: lang}
	if s.call.StartedAt != nil {
		in.Start = *s.call.StartedAt
	}

	s.mu.Lock()
	p := s.prog
	s.mu.Unlock()
	from := p.until
	end := from
	var fresh []callscope.Segment
	for _, sg := range segs {
		end = max(end, sg.EndTime)
		if sg.EndTime > from {
			fresh = append(fresh, sg)
		}
	}
	base := callscope.EvolutionSnapshot{WindowIndex: p.window, WindowStart: round3(from), WindowEnd: round3(end)}
	var snaps []call.Snapshot
	var raised *callscope.RiskRaisedData
	var entities any
	category, risk := p.category, p.risk

	if eng.Entities != nil {
		ents, _, err := eng.Entities.Entities(ctx, in)
		if err != nil {
			s.log.Warn("progressive analysis: entities failed", "err", err)
		} else {
			entities = entityView(ents)
			snaps = append(snaps, snapshot(base, callscope.EvolutionEntity, entities, p.window == 0 || !reflect.DeepEqual(entities, p.entities)))
		}
	}
	if eng.Classifier != nil {
		cls, _, err := eng.Classifier.Classify(ctx, in)
		if err != nil {
			s.log.Warn("progressive analysis: classification failed", "err", err)
		} else {
			category, risk = cls.Category, cls.Risk
			changed := p.window == 0 || category != p.category || risk != p.risk
			snaps = append(snaps, snapshot(base, callscope.EvolutionClassification, cls, changed))
			if riskRank(risk) >= riskRank(nlp.RiskHigh) && riskRank(risk) > riskRank(p.risk) {
				raised = &callscope.RiskRaisedData{From: orLow(p.risk), Risk: risk, Category: category, Window: p.window,
					Evidence: evidence(cls)}
			}
		}
	}
	if target := s.tenant.Settings.TranslateTo; eng.Translator != nil && len(fresh) > 0 {
		if target == "" {
			target = "en"
		}
		if lang != "" && lang != target {
			tin := in
			tin.Segments = fresh
			tr, _, err := eng.Translator.Translate(ctx, tin, target)
			if err != nil {
				s.log.Warn("progressive analysis: translation failed", "err", err)
			} else {
				snaps = append(snaps, snapshot(base, callscope.EvolutionTranslation,
					map[string]string{"translation": tr.Text, "language": tr.Language, "source_language": lang}, true))
			}
		}
	}
	if len(snaps) == 0 {
		return
	}
	if err := s.m.Calls.RecordProgress(ctx, s.call, snaps, raised); err != nil {
		s.log.Warn("progressive analysis not stored", "window", p.window, "err", err)
		return
	}
	if raised != nil {
		s.log.Warn("live call risk raised", "from", raised.From, "risk", raised.Risk, "category", raised.Category)
	}
	s.mu.Lock()
	s.prog.window++
	s.prog.until = end
	s.prog.category, s.prog.risk = category, risk
	if entities != nil {
		s.prog.entities = entities
	}
	s.mu.Unlock()
}

func snapshot(base callscope.EvolutionSnapshot, kind string, v any, changed bool) call.Snapshot {
	b, _ := json.Marshal(v)
	base.Kind, base.Data = kind, b
	return call.Snapshot{EvolutionSnapshot: base, Changed: changed}
}

// entityView is an entity snapshot's data: the entities found so far, by
// type, each value once (the cumulative entities of seed 001 §3.11).
func entityView(ents []nlp.Entity) map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, e := range ents {
		v := e.Value
		if v == "" {
			v = e.Text
		}
		if k := e.Type + "\x00" + strings.ToLower(v); !seen[k] {
			seen[k] = true
			out[e.Type] = append(out[e.Type], v)
		}
	}
	return out
}

// evidence is the phrases that raised a classification's risk.
func evidence(c nlp.Classification) []string {
	var out []string
	for _, e := range c.RiskEvidence {
		if !e.Negated && len(out) < 5 {
			out = append(out, e.Phrase)
		}
	}
	return out
}

// riskRank orders risk levels; an unknown level ranks below all.
func riskRank(r string) int {
	switch r {
	case nlp.RiskLow, "":
		return 0
	case nlp.RiskMedium:
		return 1
	case nlp.RiskHigh:
		return 2
	case "critical":
		return 3
	}
	return -1
}

func orLow(r string) string {
	if r == "" {
		return nlp.RiskLow
	}
	return r
}
