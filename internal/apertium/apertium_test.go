package apertium_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/apertium"
	"github.com/callscope/callscope/internal/pipeline"
)

// mustTranslator returns the Apertium translator, skipping the test only
// when apertium or its English–Spanish pair is not installed.
func mustTranslator(t *testing.T) *apertium.Translator {
	t.Helper()
	if _, err := exec.LookPath("apertium"); err != nil {
		t.Skip("apertium is not installed (apt-get install apertium apertium-eng-spa)")
	}
	tr, err := apertium.New(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Mode("es", "en") == "" {
		t.Skipf("apertium-eng-spa is not installed (pairs: %v)", tr.Pairs())
	}
	return tr
}

func TestTranslate(t *testing.T) {
	tr := mustTranslator(t)
	in := pipeline.Input{Language: "es", Segments: []callscope.Segment{
		{SegmentID: 1, Speaker: "caller", Text: "Mi hijo tiene nueve años."},
		{SegmentID: 2, Speaker: "agent", Text: "¿Dónde vive   usted?\nGracias."},
		{SegmentID: 3, Speaker: "caller", Text: "En Madrid [cerca] de la escuela."},
	}}
	got, _, err := tr.Translate(context.Background(), in, "en")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(got.Text, "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "caller: My son") || !strings.Contains(lines[0], "nine") ||
		!strings.HasPrefix(lines[1], "agent: ") || !strings.HasPrefix(lines[2], "caller: ") || !strings.Contains(lines[2], "Madrid") {
		t.Errorf("translation:\n%s", got.Text)
	}
	if got.Language != "en" || got.SourceLanguage != "es" || got.Model != "apertium spa-eng" {
		t.Errorf("translation %+v", got)
	}
}

func TestModes(t *testing.T) {
	tr := mustTranslator(t)
	for _, c := range []struct{ from, to, want string }{
		{"es", "en", "spa-eng"}, {"en", "es", "eng-spa"}, {"spa", "eng", "spa-eng"}, {"sw", "en", ""}, {"", "en", ""},
	} {
		if got := tr.Mode(c.from, c.to); got != c.want {
			t.Errorf("Mode(%q, %q) = %q, want %q", c.from, c.to, got, c.want)
		}
	}
}

// TestNoPairIsSkipped checks that a language without an installed pair is
// a SkipError that says which pairs there are.
func TestNoPairIsSkipped(t *testing.T) {
	tr := mustTranslator(t)
	_, _, err := tr.Translate(context.Background(), pipeline.Input{Language: "sw",
		Segments: []callscope.Segment{{SegmentID: 1, Speaker: "caller", Text: "Habari yako"}}}, "en")
	var se *pipeline.SkipError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "sw into en") || !strings.Contains(se.Reason, "spa-eng") {
		t.Errorf("err = %v", err)
	}
}

func TestMissingCommand(t *testing.T) {
	if _, err := apertium.New(context.Background(), "/nonexistent/apertium"); err == nil {
		t.Error("New with a missing command succeeded")
	}
}
