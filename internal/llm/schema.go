package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/callscope/callscope"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// namePattern is what OpenAI accepts as a response format name.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Schema is a compiled JSON schema for one kind of structured answer.
type Schema struct {
	// Name is the response format name sent with the schema.
	Name string
	// Doc is the schema document as sent to the server.
	Doc json.RawMessage
	// Strict is whether the schema meets OpenAI's strict-mode rules (every
	// object closed and with all its properties required); only then is
	// strict sent as true, since OpenAI rejects a non-conforming schema.
	Strict bool

	compiled *jsonschema.Schema
}

// NewSchema compiles doc. Returns EINVALID if name is not a valid response
// format name or doc is not a usable JSON schema. References to other
// documents are refused: an analyzer's schema must be self-contained.
func NewSchema(name string, doc json.RawMessage) (*Schema, error) {
	if !namePattern.MatchString(name) {
		return nil, callscope.Errorf(callscope.EINVALID, "schema name %q must match %s", name, namePattern)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, callscope.Errorf(callscope.EINVALID, "schema %s is not JSON: %v", name, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, callscope.Errorf(callscope.EINVALID, "schema %s is not an object", name)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	url := "mem:///" + name + ".json"
	if err := c.AddResource(url, v); err != nil {
		return nil, callscope.Errorf(callscope.EINVALID, "schema %s: %v", name, err)
	}
	cs, err := c.Compile(url)
	if err != nil {
		return nil, callscope.Errorf(callscope.EINVALID, "schema %s: %v", name, err)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, doc); err != nil {
		return nil, callscope.Errorf(callscope.EINVALID, "schema %s: %v", name, err)
	}
	return &Schema{Name: name, Doc: compact.Bytes(), Strict: strictCompatible(v), compiled: cs}, nil
}

// MustSchema is NewSchema for schemas built into the program; it panics on
// error.
func MustSchema(name string, doc any) *Schema {
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	s, err := NewSchema(name, b)
	if err != nil {
		panic(err)
	}
	return s
}

// Validate checks a decoded JSON value against the schema and returns an
// error naming the first few violations.
func (s *Schema) Validate(raw []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if err := s.compiled.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("does not match schema %s: %s", s.Name, describe(ve))
		}
		return fmt.Errorf("does not match schema %s: %w", s.Name, err)
	}
	return nil
}

// describe flattens a validation error's report into one line of
// "at '/path': problem" parts, at most five.
func describe(ve *jsonschema.ValidationError) string {
	var parts []string
	for _, line := range strings.Split(ve.Error(), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "- "); ok {
			parts = append(parts, rest)
		}
	}
	if len(parts) == 0 {
		return oneLine(ve.Error())
	}
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("and %d more", len(parts)-5))
	}
	return strings.Join(parts, "; ")
}

// noLoader refuses every external reference, so a tenant's schema cannot
// make the server read files or fetch URLs.
type noLoader struct{}

// Load refuses url.
func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not allowed (%s)", url)
}

// strictCompatible reports whether every object schema in v is closed
// (additionalProperties false) and requires all of its properties.
func strictCompatible(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if props, ok := t["properties"].(map[string]any); ok || t["type"] == "object" {
			if ap, _ := t["additionalProperties"].(bool); ap || t["additionalProperties"] == nil {
				return false
			}
			req := map[string]bool{}
			if rs, ok := t["required"].([]any); ok {
				for _, r := range rs {
					if s, ok := r.(string); ok {
						req[s] = true
					}
				}
			}
			for k := range props {
				if !req[k] {
					return false
				}
			}
		}
		for k, c := range t {
			if k == "enum" || k == "const" || k == "required" || k == "default" || k == "examples" {
				continue
			}
			if !strictCompatible(c) {
				return false
			}
		}
	case []any:
		for _, c := range t {
			if !strictCompatible(c) {
				return false
			}
		}
	}
	return true
}
