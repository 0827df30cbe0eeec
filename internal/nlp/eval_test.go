package nlp

import (
	"os"
	"strings"
	"testing"
)

// TestEvaluation scores the analyzers on the labelled calls in
// testdata/eval and fails when a headline figure drops below its floor.
func TestEvaluation(t *testing.T) {
	r, err := EvaluateDir("testdata/eval")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if os.Getenv("NLP_EVAL_MISSES") != "" {
		t.Log("\n" + strings.Join(r.Misses, "\n"))
	}
	if r.Calls < 40 {
		t.Errorf("evaluation set has %d calls, want at least 40", r.Calls)
	}
	for _, typ := range []string{EntityPhone, EntityEmail, EntityDate, EntityMoney, EntityCard} {
		if f := r.EntityF1(typ); f < 0.9 {
			t.Errorf("%s F1 = %.3f, want >= 0.9", typ, f)
		}
	}
	if a := r.CategoryAccuracy(); a < 0.8 {
		t.Errorf("category accuracy = %.3f, want >= 0.8", a)
	}
	if p := r.PIIRecall(); p < 0.95 {
		t.Errorf("PII recall = %.3f, want >= 0.95", p)
	}
}

// TestEvaluateDirErrors checks the harness reports unusable directories.
func TestEvaluateDirErrors(t *testing.T) {
	t.Run("EmptyDir", func(t *testing.T) {
		if _, err := EvaluateDir(t.TempDir()); err == nil {
			t.Fatal("want an error for a directory without calls")
		}
	})
	t.Run("UnknownTaxonomy", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/c.json", []byte(`{"id":"c","taxonomy":"nope","segments":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := EvaluateDir(dir); err == nil {
			t.Fatal("want an error for an unknown taxonomy")
		}
	})
	t.Run("BadJSON", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/c.json", []byte(`{`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := EvaluateDir(dir); err == nil {
			t.Fatal("want an error for malformed JSON")
		}
	})
}

// TestHoldout reports scores on calls written after development and never
// tuned against. It has no floors: its figures are the honest estimate.
func TestHoldout(t *testing.T) {
	r, err := EvaluateDir("testdata/holdout")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if os.Getenv("NLP_EVAL_MISSES") != "" {
		t.Log("\n" + strings.Join(r.Misses, "\n"))
	}
}
