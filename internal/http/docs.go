package http

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The OpenAPI document is written by hand next to the handlers and embedded;
// TestOpenAPIMatchesRoutes keeps it and the route table in step.
//
//go:embed assets/openapi.json assets/docs.html.tmpl
var assets embed.FS

var (
	specOnce sync.Once
	specJSON []byte
	specDoc  *openAPI
	docsHTML []byte
	specErr  error
)

// openAPI is the part of an OpenAPI 3.1 document the docs page renders.
type openAPI struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Summary     string `json:"summary"`
		Description string `json:"description"`
	} `json:"info"`
	Tags []tag `json:"tags"`
	// Paths holds path items raw: besides operations they may carry
	// summary, description and parameters.
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		Parameters      map[string]parameter       `json:"parameters"`
		Responses       map[string]response        `json:"responses"`
		Schemas         map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

type tag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type operation struct {
	OperationID string                `json:"operationId"`
	Summary     string                `json:"summary"`
	Description string                `json:"description"`
	Tags        []string              `json:"tags"`
	Parameters  []parameter           `json:"parameters"`
	RequestBody *requestBody          `json:"requestBody"`
	Responses   map[string]response   `json:"responses"`
	Security    []map[string][]string `json:"security"`
	// Auth says who may call the operation: "public", "tenant" (any API
	// key) or "admin" (an admin API key); OpenAPI security cannot tell the
	// last two apart.
	Auth string `json:"x-callscope-auth"`
}

type parameter struct {
	Ref         string          `json:"$ref"`
	Name        string          `json:"name"`
	In          string          `json:"in"`
	Required    bool            `json:"required"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
}

type requestBody struct {
	Required bool                 `json:"required"`
	Content  map[string]mediaType `json:"content"`
}

type response struct {
	Ref         string                     `json:"$ref"`
	Description string                     `json:"description"`
	Headers     map[string]json.RawMessage `json:"headers"`
	Content     map[string]mediaType       `json:"content"`
}

type mediaType struct {
	Schema  json.RawMessage `json:"schema"`
	Example json.RawMessage `json:"example"`
}

// docGroup is one tag's operations on the docs page.
type docGroup struct {
	Name, Description string
	Entries           []docEntry
}

// docEntry is one operation on the docs page.
type docEntry struct {
	Anchor, Method, Path, Summary, Description, Tag string
	// Auth is "public", "API key" or "admin API key".
	Auth        string
	Public      bool
	Parameters  []docParam
	RequestType string // media type of the body, "" without one
	Request     typeLabel
	// Example is an example request body, indented; "" without one.
	Example   string
	Responses []docResponse
}

type docParam struct {
	Name, In, Description string
	Required              bool
	Type                  typeLabel
}

type docResponse struct {
	Code, Description, ContentType string
	Headers                        []string
	Schema                         typeLabel
}

// typeLabel names a schema for people: Prefix, then Ref (a component
// schema, linked) if any, then Suffix. "array of Segment" is {"array of ",
// "Segment", ""}.
type typeLabel struct{ Prefix, Ref, Suffix string }

func (l typeLabel) empty() bool { return l == typeLabel{} }

// docSchema is one component schema on the docs page.
type docSchema struct {
	Name, Description string
	Type              typeLabel
	Enum              []string
	// Extends lists the schemas an allOf combines; Requires names
	// properties the combination makes required.
	Extends    []typeLabel
	Requires   []string
	Properties []docProperty
	JSON       string
}

type docProperty struct {
	Name, Description string
	Required          bool
	Type              typeLabel
	Enum              []string
}

func loadSpec() error {
	specOnce.Do(func() {
		specJSON, specErr = assets.ReadFile("assets/openapi.json")
		if specErr != nil {
			return
		}
		var doc openAPI
		if specErr = json.Unmarshal(specJSON, &doc); specErr != nil {
			specErr = fmt.Errorf("openapi.json: %w", specErr)
			return
		}
		specDoc = &doc
		docsHTML, specErr = renderDocs(&doc)
	})
	return specErr
}

// OpenAPI returns the embedded OpenAPI document.
func OpenAPI() ([]byte, error) {
	if err := loadSpec(); err != nil {
		return nil, err
	}
	return specJSON, nil
}

// httpMethods are the path item keys that name operations.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

var authWords = map[string]string{"public": "public", "tenant": "API key", "admin": "admin API key"}

func renderDocs(doc *openAPI) ([]byte, error) {
	tmpl, err := template.New("docs.html.tmpl").Funcs(template.FuncMap{"md": codeSpans}).ParseFS(assets, "assets/docs.html.tmpl")
	if err != nil {
		return nil, err
	}
	groups := map[string]*docGroup{}
	var order []string
	group := func(name string) *docGroup {
		if g, ok := groups[name]; ok {
			return g
		}
		g := &docGroup{Name: name}
		groups[name] = g
		order = append(order, name)
		return g
	}
	for _, t := range doc.Tags {
		group(t.Name).Description = t.Description
	}
	declared := len(order)
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(method), path, err)
			}
			e, err := doc.entry(method, path, op)
			if err != nil {
				return nil, err
			}
			if e.Tag == "" {
				e.Tag = "Other"
			}
			g := group(e.Tag)
			g.Entries = append(g.Entries, e)
		}
	}
	sort.Strings(order[declared:]) // tags the document does not declare
	var gs []docGroup
	for _, name := range order {
		g := groups[name]
		sort.Slice(g.Entries, func(i, j int) bool {
			if g.Entries[i].Path != g.Entries[j].Path {
				return g.Entries[i].Path < g.Entries[j].Path
			}
			return methodRank(g.Entries[i].Method) < methodRank(g.Entries[j].Method)
		})
		if len(g.Entries) > 0 {
			gs = append(gs, *g)
		}
	}
	schemas, err := doc.schemas()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, map[string]any{"Info": doc.Info, "Groups": gs, "Schemas": schemas})
	return out.Bytes(), err
}

// methodRank orders an endpoint's operations as people read them.
func methodRank(m string) int {
	for i, v := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if m == v {
			return i
		}
	}
	return 9
}

func (doc *openAPI) entry(method, path string, op operation) (docEntry, error) {
	e := docEntry{Method: strings.ToUpper(method), Path: path, Summary: op.Summary, Description: op.Description,
		Anchor: op.OperationID, Public: op.Security != nil && len(op.Security) == 0}
	if e.Anchor == "" {
		e.Anchor = strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(path)
	}
	if len(op.Tags) > 0 {
		e.Tag = op.Tags[0]
	}
	e.Auth = authWords[op.Auth]
	if e.Auth == "" {
		e.Auth = "API key"
		if e.Public {
			e.Auth = "public"
		}
	}
	for _, p := range op.Parameters {
		if p.Ref != "" {
			name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
			q, found := doc.Components.Parameters[name]
			if !ok || !found {
				return e, fmt.Errorf("%s %s: unresolved parameter %s", e.Method, path, p.Ref)
			}
			p = q
		}
		e.Parameters = append(e.Parameters, docParam{Name: p.Name, In: p.In, Description: p.Description,
			Required: p.Required, Type: label(p.Schema)})
	}
	if op.RequestBody != nil {
		e.RequestType, e.Request = firstContent(op.RequestBody.Content)
		if ex := op.RequestBody.Content[e.RequestType].Example; len(ex) > 0 {
			var b bytes.Buffer
			if err := json.Indent(&b, ex, "", "  "); err != nil {
				return e, fmt.Errorf("%s %s: request example: %w", e.Method, path, err)
			}
			e.Example = b.String()
		}
	}
	for code, r := range op.Responses {
		if r.Ref != "" {
			name, ok := strings.CutPrefix(r.Ref, "#/components/responses/")
			q, found := doc.Components.Responses[name]
			if !ok || !found {
				return e, fmt.Errorf("%s %s: unresolved response %s", e.Method, path, r.Ref)
			}
			r = q
		}
		dr := docResponse{Code: code, Description: r.Description}
		dr.ContentType, dr.Schema = firstContent(r.Content)
		for h := range r.Headers {
			dr.Headers = append(dr.Headers, h)
		}
		sort.Strings(dr.Headers)
		e.Responses = append(e.Responses, dr)
	}
	sort.Slice(e.Responses, func(i, j int) bool { return e.Responses[i].Code < e.Responses[j].Code })
	return e, nil
}

// firstContent returns the media type and schema of a content map, JSON
// first.
func firstContent(c map[string]mediaType) (string, typeLabel) {
	if m, ok := c["application/json"]; ok {
		return "application/json", label(m.Schema)
	}
	var types []string
	for t := range c {
		types = append(types, t)
	}
	if len(types) == 0 {
		return "", typeLabel{}
	}
	sort.Strings(types)
	return types[0], label(c[types[0]].Schema)
}

// schemaNode is the part of a JSON Schema the docs page describes.
type schemaNode struct {
	Ref                  string                     `json:"$ref"`
	Type                 json.RawMessage            `json:"type"`
	Format               string                     `json:"format"`
	Description          string                     `json:"description"`
	Enum                 []any                      `json:"enum"`
	Const                any                        `json:"const"`
	Items                json.RawMessage            `json:"items"`
	AllOf                []json.RawMessage          `json:"allOf"`
	Properties           map[string]json.RawMessage `json:"properties"`
	Required             []string                   `json:"required"`
	AdditionalProperties json.RawMessage            `json:"additionalProperties"`
}

func parseSchema(raw json.RawMessage) schemaNode {
	var n schemaNode
	if len(raw) > 0 {
		json.Unmarshal(raw, &n)
	}
	return n
}

// types returns the node's JSON types; "type" may be a string or a list.
func (n schemaNode) types() []string {
	var one string
	if json.Unmarshal(n.Type, &one) == nil && one != "" {
		return []string{one}
	}
	var many []string
	json.Unmarshal(n.Type, &many)
	return many
}

func (n schemaNode) enum() []string {
	var out []string
	for _, v := range n.Enum {
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	if n.Const != nil {
		b, _ := json.Marshal(n.Const)
		out = append(out, string(b))
	}
	return out
}

// label names the schema raw for people.
func label(raw json.RawMessage) typeLabel {
	n := parseSchema(raw)
	if n.Ref != "" {
		return typeLabel{Ref: strings.TrimPrefix(n.Ref, "#/components/schemas/")}
	}
	if len(n.AllOf) == 1 {
		return label(n.AllOf[0])
	}
	var l typeLabel
	var plain []string
	nullable := false
	for _, t := range n.types() {
		switch {
		case t == "null":
			nullable = true
		case t == "array" && len(n.Items) > 0:
			l = label(n.Items)
			l.Prefix = "array of " + l.Prefix
		case t == "object" && len(n.AdditionalProperties) > 0 && n.AdditionalProperties[0] == '{':
			l = label(n.AdditionalProperties)
			l.Prefix = "map of " + l.Prefix
		case n.Format != "":
			plain = append(plain, t+" ("+n.Format+")")
		default:
			plain = append(plain, t)
		}
	}
	if len(plain) > 0 {
		if l.empty() {
			l.Prefix = strings.Join(plain, " | ")
		} else {
			l.Prefix = strings.Join(plain, " | ") + " | " + l.Prefix
		}
	}
	if nullable {
		l.Suffix += " | null"
	}
	return l
}

func (doc *openAPI) schemas() ([]docSchema, error) {
	var names []string
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []docSchema
	for _, name := range names {
		raw := doc.Components.Schemas[name]
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		n := parseSchema(raw)
		s := docSchema{Name: name, Description: n.Description, Enum: n.enum(), JSON: buf.String()}
		s.Properties = properties(raw, n)
		for _, part := range n.AllOf {
			p := parseSchema(part)
			if p.Ref != "" {
				s.Extends = append(s.Extends, label(part))
				continue
			}
			s.Properties = append(s.Properties, properties(part, p)...)
			for _, r := range p.Required {
				if _, listed := p.Properties[r]; !listed {
					s.Requires = append(s.Requires, r)
				}
			}
		}
		if len(n.Properties) == 0 && len(n.AllOf) == 0 {
			s.Type = label(raw)
		}
		out = append(out, s)
	}
	return out, nil
}

// properties lists an object schema's properties in the document's order.
func properties(raw json.RawMessage, n schemaNode) []docProperty {
	req := map[string]bool{}
	for _, r := range n.Required {
		req[r] = true
	}
	var out []docProperty
	for _, name := range propertyOrder(raw) {
		p := n.Properties[name]
		s := parseSchema(p)
		out = append(out, docProperty{Name: name, Description: s.Description, Required: req[name], Type: label(p), Enum: s.enum()})
	}
	return out
}

// propertyOrder returns the names of the schema's properties in the order
// the document lists them (a Go map forgets it).
func propertyOrder(raw json.RawMessage) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(top["properties"]))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var names []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return names
		}
		names = append(names, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return names
		}
	}
	return names
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// codeSpans renders text with its `code` spans as <code>, the one piece of
// Markdown the document's descriptions use.
func codeSpans(text string) template.HTML {
	return template.HTML(codeSpan.ReplaceAllString(template.HTMLEscapeString(text), "<code>$1</code>"))
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	b, err := OpenAPI()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	return nil
}

func (s *Server) handleDocs(w http.ResponseWriter, r *http.Request) error {
	if err := loadSpec(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(docsHTML)
	return nil
}
