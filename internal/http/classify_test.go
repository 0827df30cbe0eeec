package http_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// schoolTaxonomy is a tenant's own taxonomy, as a supervisor writes it.
const schoolTaxonomy = `{
	"name": "school_line",
	"fallback": "other",
	"negations": ["sikuwahi"],
	"categories": [
		{"id": "bullying", "label": "Bullying", "risk": "medium", "keywords": [
			{"weight": 3, "terms": ["bullied", "bully*", "push* him around"]},
			{"weight": 1, "terms": ["tease*"]}]},
		{"id": "fees", "label": "School fees", "risk": "low", "keywords": [{"weight": 3, "terms": ["fees", "bursary"]}]},
		{"id": "other", "label": "Other", "risk": "low", "keywords": []}
	],
	"escalation": [{"level": "high", "terms": ["knife", "kill himself"]}]
}`

func TestCustomTaxonomy(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			path := "/api/v1/tenants/" + e.tenant.ID
			r := e.do("PATCH", path, e.admin, `{"settings": {"taxonomy": `+schoolTaxonomy+`}}`)
			wantStatus(t, r, 200)
			// Read back exactly.
			r = e.do("GET", path, e.admin, nil)
			wantStatus(t, r, 200)
			var got struct {
				Settings struct {
					Taxonomy json.RawMessage `json:"taxonomy"`
				} `json:"settings"`
			}
			decodeAs(t, r, &got)
			var a, b any
			must(t, json.Unmarshal(got.Settings.Taxonomy, &a))
			must(t, json.Unmarshal([]byte(schoolTaxonomy), &b))
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("taxonomy read back as %s", got.Settings.Taxonomy)
			}

			// The dry run classifies by it, with evidence.
			r = e.do("POST", "/api/v1/classify", e.key, map[string]any{"transcript": "counsellor: How can I help?\ncaller: the older boys bullied my son again and tease him"})
			wantStatus(t, r, 200)
			m := r.json(t)
			if m["taxonomy"] != "school_line" || m["category"] != "bullying" || m["risk"] != "medium" || len(m["evidence"].([]any)) != 2 {
				t.Fatalf("dry run = %s", r.Body)
			}
			r = e.do("POST", "/api/v1/classify", e.key, map[string]any{"transcript": "my son sikuwahi bullied, we need a bursary for fees, he has a knife"})
			wantStatus(t, r, 200)
			if m := r.json(t); m["category"] != "fees" || m["risk"] != "high" {
				t.Fatalf("negation and escalation: %s", r.Body)
			}
			// An override is tried without saving it.
			r = e.do("POST", "/api/v1/classify", e.key, map[string]any{"transcript": "my son is being bullied at school, other kids hit him every day", "taxonomy": "helpline"})
			wantStatus(t, r, 200)
			if m := r.json(t); m["taxonomy"] != "child_helpline" || m["category"] == "information_request" || m["risk"] == "low" {
				t.Fatalf("bullying call with the helpline taxonomy: %s", r.Body)
			}
			r = e.do("POST", "/api/v1/classify", e.key, map[string]any{"transcript": "my son is being bullied at school"})
			if m := r.json(t); m["taxonomy"] != "school_line" {
				t.Fatalf("the override was saved: %s", r.Body)
			}
		})
	}
}

func TestCustomTaxonomyInvalid(t *testing.T) {
	e := newEnv(t, "sqlite")
	path := "/api/v1/tenants/" + e.tenant.ID
	for _, c := range []struct{ name, taxonomy, loc string }{
		{"UnknownName", `"schools"`, "body.settings.taxonomy"},
		{"WrongType", `5`, "body.settings.taxonomy"},
		{"NoCategories", `{"name": "x", "categories": []}`, "body.settings.taxonomy.categories"},
		{"BadRisk", `{"categories": [{"id": "a", "risk": "severe"}]}`, "body.settings.taxonomy.categories.0.risk"},
		{"RepeatedID", `{"categories": [{"id": "a"}, {"id": "a"}]}`, "body.settings.taxonomy.categories.1.id"},
		{"EmptyTerm", `{"categories": [{"id": "a", "keywords": [{"weight": 1, "terms": ["ok", " "]}]}]}`, "body.settings.taxonomy.categories.0.keywords.0.terms.1"},
		{"StarOnly", `{"categories": [{"id": "a", "keywords": [{"weight": 1, "terms": ["*"]}]}]}`, "body.settings.taxonomy.categories.0.keywords.0.terms.0"},
		{"NegativeWeight", `{"categories": [{"id": "a", "keywords": [{"weight": -2, "terms": ["x"]}]}]}`, "body.settings.taxonomy.categories.0.keywords.0.weight"},
		{"FallbackNotACategory", `{"fallback": "b", "categories": [{"id": "a"}]}`, "body.settings.taxonomy.fallback"},
		{"EscalationLevel", `{"categories": [{"id": "a"}], "escalation": [{"level": "urgent", "terms": ["x"]}]}`, "body.settings.taxonomy.escalation.0.level"},
		{"UnknownField", `{"categories": [{"id": "a", "keywordz": []}]}`, "body.settings.taxonomy.categories.0.keywordz"},
		{"MinCorrections", `"helpline", "learning": {"min_corrections": 1}`, "body.settings.learning.min_corrections"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("PATCH", path, e.admin, `{"settings": {"taxonomy": `+c.taxonomy+`}}`)
			wantStatus(t, r, 422)
			var body struct {
				Detail []callscope.FieldError `json:"detail"`
			}
			decodeAs(t, r, &body)
			var locs []string
			for _, f := range body.Detail {
				locs = append(locs, strings.Join(f.Loc, "."))
			}
			if len(locs) == 0 || !contains(locs, c.loc) {
				t.Fatalf("problems at %v, want %s: %s", locs, c.loc, r.Body)
			}
		})
	}
	t.Run("DryRunOverride", func(t *testing.T) {
		r := e.do("POST", "/api/v1/classify", e.key, `{"transcript": "hello", "taxonomy": {"categories": [{"id": "A"}]}}`)
		wantStatus(t, r, 422)
		if !strings.Contains(string(r.Body), `"body","taxonomy","categories","0","id"`) {
			t.Fatalf("answer %s", r.Body)
		}
		r = e.do("POST", "/api/v1/classify", e.key, `{"taxonomy": "helpline"}`)
		wantStatus(t, r, 422)
		if !strings.Contains(string(r.Body), `"body","transcript"`) {
			t.Fatalf("answer %s", r.Body)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestClassificationCorrections corrects calls' categories through the API
// and sees the call changed, the event recorded, the correction kept, and,
// past the tenant's minimum, the learned model used by the dry run.
func TestClassificationCorrections(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			e.server.Learner = &pipeline.Learner{Store: e.store}
			ctx := context.Background()
			r := e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin, `{"settings": {"taxonomy": `+schoolTaxonomy+`, "learning": {"min_corrections": 3, "weight": 1}}}`)
			wantStatus(t, r, 200)
			texts := []string{
				"the big boys take his lunch and push him in the corridor",
				"older pupils take her lunch and push her every break",
				"they push my son and take his lunch money at break time",
			}
			var ids []string
			for i, text := range texts {
				c := &callscope.Call{TenantID: e.tenant.ID, ExternalIDs: []callscope.ExternalID{{Kind: "call_id", Value: "corr-" + string(rune('a'+i))}}}
				must(t, e.store.CreateCall(ctx, c))
				must(t, e.store.PutSegments(ctx, c.ID, []callscope.Segment{{SegmentID: 1, Speaker: "caller", Text: text}}))
				must(t, e.store.SetCallResults(ctx, e.tenant.ID, c.ID, map[string]any{"classification": map[string]any{"category": "other", "risk": "low",
					"risk_evidence": []any{}}}))
				ids = append(ids, c.PublicID())
			}
			// Before any correction the dry run uses the keywords alone.
			lunch := map[string]any{"transcript": "caller: two boys push my daughter and take her lunch"}
			r = e.do("POST", "/api/v1/classify", e.key, lunch)
			wantStatus(t, r, 200)
			if m := r.json(t); m["category"] != "other" || m["learned"] != nil {
				t.Fatalf("before corrections: %s", r.Body)
			}

			r = e.do("PUT", "/api/v1/calls/"+ids[0]+"/classification", e.key, map[string]any{"category": "bullying", "note": "pushing is bullying", "reviewer": "amina"})
			wantStatus(t, r, 200)
			m := r.json(t)
			cls := m["classification"].(map[string]any)
			corr := m["correction"].(map[string]any)
			if m["call_id"] != ids[0] || cls["category"] != "bullying" || cls["label"] != "Bullying" || cls["risk"] != "medium" ||
				cls["corrected"].(map[string]any)["reviewer"] != "amina" || corr["previous_category"] != "other" || corr["key_id"] == "" {
				t.Fatalf("correction answer = %s", r.Body)
			}
			c, err := e.store.Call(ctx, e.tenant.ID, ids[0])
			must(t, err)
			var stored struct{ Category string }
			must(t, json.Unmarshal(c.Classification, &stored))
			if stored.Category != "bullying" {
				t.Fatalf("stored classification %s", c.Classification)
			}
			events, err := e.store.Events(ctx, e.tenant.ID, c.ID)
			must(t, err)
			var ev *callscope.Event
			for _, x := range events {
				if x.Type == callscope.EventClassificationCorrected {
					ev = x
				}
			}
			var data callscope.ClassificationCorrectedData
			if ev != nil {
				must(t, json.Unmarshal(ev.Data, &data))
			}
			if ev == nil || data.PreviousCategory != "other" || data.Category != "bullying" || data.Reviewer != "amina" || data.CallID != ids[0] {
				t.Fatalf("events %v, data %+v", events, data)
			}

			// Refused: a category the taxonomy lacks, a missing one, another tenant's call.
			r = e.do("PUT", "/api/v1/calls/"+ids[1]+"/classification", e.key, map[string]any{"category": "physical_abuse"})
			wantStatus(t, r, 422)
			r = e.do("PUT", "/api/v1/calls/"+ids[1]+"/classification", e.key, map[string]any{"note": "x"})
			wantStatus(t, r, 422)
			other := sqlstoretest.MustTenant(t, e.store)
			oc := &callscope.Call{TenantID: other.ID}
			must(t, e.store.CreateCall(ctx, oc))
			r = e.do("PUT", "/api/v1/calls/"+oc.ID+"/classification", e.key, map[string]any{"category": "bullying"})
			wantStatus(t, r, 404)

			for _, id := range ids[1:] {
				r = e.do("PUT", "/api/v1/calls/"+id+"/classification", e.key, map[string]any{"category": "bullying"})
				wantStatus(t, r, 200)
			}
			n, _, err := e.store.CorrectionStamp(ctx, e.tenant.ID)
			must(t, err)
			if n != 3 {
				t.Fatalf("%d corrections kept, want 3", n)
			}
			// Three corrections reach the minimum: the dry run learns.
			r = e.do("POST", "/api/v1/classify", e.key, lunch)
			wantStatus(t, r, 200)
			m = r.json(t)
			learned, _ := m["learned"].(map[string]any)
			if m["category"] != "bullying" || learned == nil || learned["corrections"] != 3.0 || learned["keyword_category"] != "other" {
				t.Fatalf("after corrections: %s", r.Body)
			}
		})
	}
}
