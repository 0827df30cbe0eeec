package http_test

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSessionsTranslation(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, id, c := f.e, f.id, f.c

		r := e.do("GET", "/api/v1/calls/"+id+"/translation", e.key, nil)
		wantStatus(t, r, 200)
		want := map[string]any{"call_id": id, "cumulative_translation": c.Translation, "language": "en", "source_language": "sw",
			"translation_model": "openchs/sw-en-opus-mt-mul-en-v1"}
		if m := r.json(t); !reflect.DeepEqual(m, want) {
			t.Fatalf("translation = %v\nwant %v", m, want)
		}
		// Before any post-call translation, the progressive windows speak.
		r = e.do("GET", "/api/v1/calls/1761295415.20000/translation", e.key, nil)
		wantStatus(t, r, 200)
		want = map[string]any{"call_id": "1761295415.20000", "cumulative_translation": "Hello. My child is lost.", "language": "en",
			"source_language": "", "translation_model": ""}
		if m := r.json(t); !reflect.DeepEqual(m, want) {
			t.Fatalf("progressive translation = %v\nwant %v", m, want)
		}
	})
}

func TestSessionsProgressiveAnalysis(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e := f.e

		r := e.do("GET", "/api/v1/calls/1761295415.20000/progressive-analysis", e.key, nil)
		wantStatus(t, r, 200)
		m := r.json(t)
		wantKeys(t, "progressive analysis", m, "call_id", "cumulative_translation", "translation_windows", "latest_entities",
			"latest_classification", "evolution_data")
		ev := m["evolution_data"].(map[string]any)
		if m["cumulative_translation"] != "Hello. My child is lost." || m["translation_windows"] != 2.0 ||
			!reflect.DeepEqual(m["latest_entities"], map[string]any{"persons": []any{"Amina"}}) ||
			m["latest_classification"].(map[string]any)["category"] != "child_protection" ||
			ev["entity_windows"] != 2.0 || ev["classification_windows"] != 3.0 || ev["last_window_end"] != 37.5 || ev["updated_at"] == nil {
			t.Fatalf("progressive analysis = %s", r.Body)
		}
		// A call without snapshots answers empty values.
		r = e.do("GET", "/api/v1/calls/done-1/progressive-analysis", e.key, nil)
		wantStatus(t, r, 200)
		m = r.json(t)
		if m["cumulative_translation"] != "" || m["translation_windows"] != 0.0 || len(m["latest_entities"].(map[string]any)) != 0 ||
			len(m["latest_classification"].(map[string]any)) != 0 || m["evolution_data"].(map[string]any)["updated_at"] != nil {
			t.Fatalf("empty progressive analysis = %s", r.Body)
		}
	})
}

func TestSessionsEntityEvolution(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e, id := f.e, f.id

		r := e.do("GET", "/api/v1/calls/1761295415.20000/entity-evolution", e.key, nil)
		wantStatus(t, r, 200)
		var got []map[string]any
		decodeAs(t, r, &got)
		if len(got) != 2 {
			t.Fatalf("entity evolution = %s", r.Body)
		}
		for i, w := range got {
			wantKeys(t, "entity window", w, "window_index", "window_start", "window_end", "timestamp", "entities")
			if w["window_index"] != float64(i) {
				t.Fatalf("windows out of order: %s", r.Body)
			}
		}
		if got[1]["window_start"] != 11.25 || got[1]["window_end"] != 26.25 || !reflect.DeepEqual(got[1]["entities"], map[string]any{"persons": []any{"Amina"}}) {
			t.Fatalf("window 1 = %v", got[1])
		}
		r = e.do("GET", "/api/v1/calls/"+id+"/entity-evolution", e.key, nil)
		wantStatus(t, r, 200)
		if strings.TrimSpace(string(r.Body)) != "[]" {
			t.Fatalf("no snapshots: %s, want []", r.Body)
		}
	})
}

func TestSessionsClassificationEvolution(t *testing.T) {
	eachSessionsFixture(t, func(t *testing.T, f *sessionsFixture) {
		e := f.e

		r := e.do("GET", "/api/v1/calls/1761295415.20000/classification-evolution", e.key, nil)
		wantStatus(t, r, 200)
		var got []struct {
			WindowIndex    int            `json:"window_index"`
			Timestamp      string         `json:"timestamp"`
			Classification map[string]any `json:"classification"`
			Changed        bool           `json:"changed"`
		}
		decodeAs(t, r, &got)
		var changed []bool
		for _, w := range got {
			changed = append(changed, w.Changed)
			if _, err := time.Parse(time.RFC3339Nano, w.Timestamp); err != nil {
				t.Fatalf("timestamp %q: %v", w.Timestamp, err)
			}
		}
		// A confidence change alone is not a change of classification.
		if !reflect.DeepEqual(changed, []bool{true, false, true}) || got[2].Classification["category"] != "child_protection" {
			t.Fatalf("classification evolution = %s", r.Body)
		}
	})
}
