package nlp

import (
	"testing"
)

// A recogniser's transcript has no capital letters; the names in it are
// still found (truecase). The lines are written for this test.
func TestExtractEntitiesCaseless(t *testing.T) {
	t.Parallel()
	lines := []string{
		"agent: childline kenya good evening how can i help",
		"caller: hello my name is sabrina and i stay in kisumu",
		"agent: thank you for calling is anyone with you",
		"caller: my uncle peter mwangi works at kenya power",
		"agent: okay call me back if it happens again",
		"caller: my name is not important just help my sister",
		"caller: jina langu ni halima wanjiku",
	}
	ents := ExtractEntities(segs(lines...), Options{})
	for _, want := range []struct{ typ, text string }{
		{EntityOrganization, "childline kenya"},
		{EntityPerson, "sabrina"},
		{EntityLocation, "kisumu"},
		{EntityPerson, "peter mwangi"},
		{EntityOrganization, "kenya power"},
		{EntityPerson, "halima wanjiku"},
	} {
		if findEntity(ents, want.typ, want.text) == nil {
			t.Errorf("no %s %q in %+v", want.typ, want.text, ents)
		}
	}
	for _, e := range ents {
		switch e.Text {
		case "back", "not", "not important", "important":
			t.Errorf("%s %q is not a name", e.Type, e.Text)
		}
	}
}

// A transcript with capital letters is read as written: a lower-case word
// after a name cue is not taken for a name there.
func TestExtractEntitiesCasedTextUnchanged(t *testing.T) {
	t.Parallel()
	ents := ExtractEntities(segs(
		"agent: Childline Kenya, how can I help?",
		"caller: My name is sabrina and I stay in kisumu.",
		"agent: Thank you.",
	), Options{})
	for _, e := range ents {
		if e.Text == "sabrina" || e.Text == "kisumu" {
			t.Errorf("%s %q found in written text", e.Type, e.Text)
		}
	}
}
