package callscope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
)

// Taxonomy is a set of call categories with weighted keywords: one of the
// built-in taxonomies, or a tenant's own in its "taxonomy" setting.
//
// A term is one or more lower-case words or a phrase. A word ending in "*"
// matches any word it starts ("beat*" matches "beaten"); a word starting
// with "*" matches any word containing it ("*piga*" matches "alimpiga"),
// which suits Swahili verbs. A term after a negation ("not", "never",
// "hakuna" … and the taxonomy's own Negations) within its clause counts
// for nothing.
type Taxonomy struct {
	Name       string       `json:"name"`
	Categories []Category   `json:"categories"`
	Escalation []Escalation `json:"escalation"`
	// Fallback is the category reported when no keyword matched.
	Fallback string `json:"fallback"`
	// Negations are words that negate the keyword after them, added to
	// the built-in ones.
	Negations []string `json:"negations,omitempty"`
}

// Category is one class of call with its keywords and base risk.
type Category struct {
	ID       string      `json:"id"`
	Label    string      `json:"label"`
	Risk     string      `json:"risk"`
	Keywords []TermGroup `json:"keywords"`
}

// TermGroup is a list of terms sharing one weight.
type TermGroup struct {
	Weight float64  `json:"weight"`
	Terms  []string `json:"terms"`
}

// Escalation lists terms that raise a call's risk to Level.
type Escalation struct {
	Level string   `json:"level"`
	Terms []string `json:"terms"`
}

// Risk levels of a taxonomy, in rising order.
var RiskLevels = []string{"low", "medium", "high"}

// Limits of a taxonomy, so one tenant's cannot make classification slow.
const (
	MaxTaxonomyCategories = 100
	MaxTaxonomyTerms      = 5000
)

var categoryID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks a taxonomy, each problem a FieldError under loc naming
// the field: ["categories", "2", "keywords", "0", "terms", "5"].
func (t *Taxonomy) Validate(loc ...string) []FieldError {
	var f []FieldError
	at := func(k ...string) []string { return append(append([]string{}, loc...), k...) }
	bad := func(msg, typ string, k ...string) { f = append(f, FieldError{Loc: at(k...), Msg: msg, Type: typ}) }
	if len(t.Name) > 100 {
		bad("A name is at most 100 characters", "string_too_long", "name")
	}
	if len(t.Categories) == 0 {
		bad("A taxonomy needs at least one category", "too_short", "categories")
	}
	if len(t.Categories) > MaxTaxonomyCategories {
		bad(fmt.Sprintf("At most %d categories", MaxTaxonomyCategories), "too_long", "categories")
	}
	terms := 0
	checkTerms := func(list []string, k ...string) {
		for i, term := range list {
			terms++
			if msg := termProblem(term); msg != "" {
				bad(msg, "value_error", append(k, fmt.Sprint(i))...)
			}
		}
	}
	ids := map[string]bool{}
	for ci, c := range t.Categories {
		cl := []string{"categories", fmt.Sprint(ci)}
		switch {
		case !categoryID.MatchString(c.ID):
			bad("A category id is 1 to 64 lower-case letters, digits, _ or -", "value_error", append(cl, "id")...)
		case ids[c.ID]:
			bad("Category id "+quote(c.ID)+" is repeated", "value_error", append(cl, "id")...)
		}
		ids[c.ID] = true
		if len(c.Label) > 200 {
			bad("A label is at most 200 characters", "string_too_long", append(cl, "label")...)
		}
		if c.Risk != "" && !contains(RiskLevels, c.Risk) {
			bad("Input should be low, medium or high", "enum", append(cl, "risk")...)
		}
		for gi, g := range c.Keywords {
			gl := append(append([]string{}, cl...), "keywords", fmt.Sprint(gi))
			if math.IsNaN(g.Weight) || g.Weight < 0 || g.Weight > 100 {
				bad("A weight is a number from 0 to 100 (0 means 1)", "value_error", append(gl, "weight")...)
			}
			checkTerms(g.Terms, append(gl, "terms")...)
		}
	}
	if t.Fallback != "" && !ids[t.Fallback] {
		bad("Fallback "+quote(t.Fallback)+" is not one of the categories", "value_error", "fallback")
	}
	for ei, e := range t.Escalation {
		el := []string{"escalation", fmt.Sprint(ei)}
		if !contains(RiskLevels, e.Level) {
			bad("Input should be low, medium or high", "enum", append(el, "level")...)
		}
		checkTerms(e.Terms, append(el, "terms")...)
	}
	for i, w := range t.Negations {
		if w = strings.TrimSpace(w); w == "" || strings.ContainsAny(w, " \t*") || len(w) > 50 {
			bad("A negation is one word of at most 50 characters", "value_error", "negations", fmt.Sprint(i))
		}
	}
	if terms > MaxTaxonomyTerms {
		bad(fmt.Sprintf("At most %d terms in all", MaxTaxonomyTerms), "too_long", "categories")
	}
	return f
}

// termProblem says what is wrong with a keyword term, or "".
func termProblem(term string) string {
	words := strings.Fields(term)
	if len(words) == 0 {
		return "A term may not be empty"
	}
	if len(term) > 200 || len(words) > 10 {
		return "A term is at most 10 words and 200 characters"
	}
	for _, w := range words {
		if strings.Trim(w, "*") == "" {
			return "Term " + quote(term) + " has a word that is only *"
		}
	}
	return ""
}

// TaxonomySetting is the "taxonomy" setting: the name of a built-in
// taxonomy ("helpline", "contact_centre") or a whole taxonomy of the
// tenant's own. It reads and writes as a JSON string or object.
type TaxonomySetting struct {
	// Builtin names a built-in taxonomy when Custom is nil.
	Builtin string
	Custom  *Taxonomy
	// raw is the custom taxonomy as it was written (compacted), so that
	// it reads back exactly: empty lists stay, key order stays.
	raw json.RawMessage
}

// MarshalJSON implements json.Marshaler.
func (t TaxonomySetting) MarshalJSON() ([]byte, error) {
	if t.Custom != nil {
		if t.raw != nil {
			return t.raw, nil
		}
		return json.Marshal(t.Custom)
	}
	return json.Marshal(t.Builtin)
}

// UnmarshalJSON implements json.Unmarshaler: a string names a built-in
// taxonomy, an object is read strictly as a Taxonomy.
func (t *TaxonomySetting) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var tx Taxonomy
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tx); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return err
		}
		*t = TaxonomySetting{Custom: &tx, raw: buf.Bytes()}
		return nil
	}
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		// A number, list or boolean: name the setting.
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeOf(name)}
	}
	*t = TaxonomySetting{Builtin: name}
	return nil
}

// jsonShape tells DecodeStrict that an object is read as a Taxonomy.
func (t *TaxonomySetting) jsonShape(v any) reflect.Type {
	if _, ok := v.(map[string]any); ok {
		return reflect.TypeFor[Taxonomy]()
	}
	return nil
}

// Name is the taxonomy's name: the built-in name, or the custom taxonomy's
// own (default "custom").
func (t *TaxonomySetting) Name() string {
	if t == nil {
		return ""
	}
	if t.Custom != nil {
		if t.Custom.Name == "" {
			return "custom"
		}
		return t.Custom.Name
	}
	return t.Builtin
}
