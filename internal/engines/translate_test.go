package engines_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/apertium"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/engines"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestOfflineTranslation runs the pipeline with Apertium as the offline
// translator: a Spanish call is translated into English, a Swahili call
// (no pair installed) skips the stage saying why.
func TestOfflineTranslation(t *testing.T) {
	if _, err := exec.LookPath("apertium"); err != nil {
		t.Skip("apertium is not installed (apt-get install apertium apertium-eng-spa)")
	}
	ctx := context.Background()
	tr, err := apertium.New(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Mode("es", "en") == "" {
		t.Skip("apertium-eng-spa is not installed")
	}
	p, err := engines.New(engines.Config{Translator: tr, TranslatorDetail: "Apertium"})
	if err != nil {
		t.Fatal(err)
	}
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		tn := &callscope.Tenant{Name: "t-" + callscope.NewID()}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		run := func(lang string, lines ...string) (*callscope.Call, *callscope.Processing) {
			c := &callscope.Call{TenantID: tn.ID, Language: lang}
			if err := s.CreateCall(ctx, c); err != nil {
				t.Fatal(err)
			}
			var segs []callscope.Segment
			for i, l := range lines {
				segs = append(segs, callscope.Segment{SegmentID: i + 1, Speaker: []string{"caller", "agent"}[i%2], StartTime: float64(i), EndTime: float64(i) + 1, Text: l})
			}
			if err := s.PutSegments(ctx, c.ID, segs); err != nil {
				t.Fatal(err)
			}
			r := &pipeline.Runner{Store: s, Engines: p.For, Switches: config.Switches}
			if err := r.Run(ctx, tn.ID, c.ID); err != nil {
				t.Fatal(err)
			}
			got, err := s.Call(ctx, tn.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			pr, err := s.Processing(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got, pr
		}
		c, _ := run("es", "Hola, mi hijo tiene nueve años.", "¿Dónde vive usted?", "Vivo en Madrid con mi hermana.")
		if c.TranslationLanguage != "en" || !strings.Contains(c.Translation, "caller: Hello, my son") || !strings.Contains(c.Translation, "sister") {
			t.Errorf("Spanish call: translation %q (%s)", c.Translation, c.TranslationLanguage)
		}
		c, pr := run("sw", "Habari, mtoto wangu ana miaka tisa.", "Unaishi wapi?", "Naishi Nairobi na dada yangu.")
		if c.Translation != "" {
			t.Errorf("Swahili call translated: %q", c.Translation)
		}
		found := false
		for _, st := range pr.Stages {
			if st.Stage == pipeline.StageTranslate {
				found = true
				if st.Status != pipeline.StatusSkipped || !strings.Contains(st.Reason, "no Apertium pair translates sw into en") {
					t.Errorf("translate stage %+v", st)
				}
			}
		}
		if !found {
			t.Errorf("no translate stage record: %+v", pr.Stages)
		}
	})
}
