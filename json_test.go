package callscope

import (
	"errors"
	"strings"
	"testing"
)

// FuzzJSONProblem holds the quick test to the walk it saves: whenever the
// walk finds a number that does not fit, the quick test said it might.
func FuzzJSONProblem(f *testing.F) {
	for _, s := range []string{`{"a":1e999}`, `{"a":[-1E+400]}`, `{"a":1.5e3}`, `{"t":"2025-10-24T08:58:25Z","n":0.92}`,
		`{"a":` + strings.Repeat("9", 320) + `}`, `{"a":"1e999"}`, `[1,2,3]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		walked := func() *FieldError {
			defer func() { recover() }()
			return JSONProblem(raw, true) // dupKeys forces the walk
		}()
		if walked != nil && walked.Type == "value_error" && !mayOverflow(raw) {
			t.Fatalf("%s: the walk found %v but the quick test said no", raw, walked.Loc)
		}
	})
}

func TestJSONProblemNumbers(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1e999}`: true, `{"a":{"b":[0,-1e999]}}`: true, `{"a":1e308}`: false, `{"a":"1e999"}`: false,
		`{"a":12345678901234567890}`: false, `{"t":"2025-10-24T08:58:25Z","c":0.92}`: false,
	} {
		if got := JSONProblem([]byte(body), false) != nil; got != want {
			t.Errorf("%s: problem %v, want %v", body, got, want)
		}
	}
}

// TestDecodeStrictCase: encoding/json would take {"Title": …} for "title";
// a key that names a field only by folding case is refused at its place,
// in nested objects, lists, maps and a tenant's own taxonomy too.
func TestDecodeStrictCase(t *testing.T) {
	type item struct {
		PhoneNumber string `json:"phoneNumber"`
	}
	type inner struct {
		Name  string          `json:"name"`
		Items []item          `json:"items"`
		ByKey map[string]item `json:"by_key"`
	}
	type Embedded struct {
		Label string `json:"label"`
	}
	type doc struct {
		Embedded
		Title string          `json:"title"`
		In    *inner          `json:"in"`
		Any   any             `json:"any"`
		Tax   TaxonomySetting `json:"taxonomy"`
	}
	for body, want := range map[string]string{
		`{"title":"a","label":"b","in":{"name":"x","items":[{"phoneNumber":"1"}],"by_key":{"K":{"phoneNumber":"2"}}},"any":{"Title":1}}`: "",
		`{"taxonomy":"helpline"}`: "",
		`{"taxonomy":{"name":"t","categories":[{"id":"a","keywords":[{"weight":1,"terms":["x"]}]}],"fallback":"a"}}`: "",
		`{"taxonomy":{"name":"t","categories":[{"id":"a","keywords":[{"Weight":1}]}]}}`:                              "body.taxonomy.categories.0.keywords.0.Weight",
		`{"Title":"a"}`:       "body.Title",
		`{"LABEL":"b"}`:       "body.LABEL",
		`{"in":{"Name":"x"}}`: "body.in.Name",
		`{"in":{"items":[{},{"phonenumber":"1"}]}}`:   "body.in.items.1.phonenumber",
		`{"in":{"by_key":{"k":{"PhoneNumber":"2"}}}}`: "body.in.by_key.k.PhoneNumber",
		`{"taxonomy":{"Name":"t"}}`:                   "body.taxonomy.Name",
	} {
		var d doc
		err := DecodeStrict([]byte(body), &d, "body")
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", body, err)
			}
			continue
		}
		var ve *Error
		if !errors.As(err, &ve) || len(ve.Fields) == 0 || strings.Join(ve.Fields[0].Loc, ".") != want || ve.Fields[0].Type != "extra_forbidden" {
			t.Errorf("%s: %v, want extra_forbidden at %s", body, err, want)
		}
	}
}
