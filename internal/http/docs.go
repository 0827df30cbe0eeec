package http

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
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
		Description string `json:"description"`
	} `json:"info"`
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Summary     string                `json:"summary"`
	Description string                `json:"description"`
	Tags        []string              `json:"tags"`
	Parameters  []parameter           `json:"parameters"`
	RequestBody json.RawMessage       `json:"requestBody"`
	Responses   map[string]response   `json:"responses"`
	Security    []map[string][]string `json:"security"`
}

type parameter struct {
	Name        string          `json:"name"`
	In          string          `json:"in"`
	Required    bool            `json:"required"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
}

type response struct {
	Description string `json:"description"`
}

// docEntry is one operation on the docs page.
type docEntry struct {
	Method, Path, Summary, Description, Tag string
	Parameters                              []parameter
	Responses                               []docResponse
	HasBody                                 bool
	Public                                  bool
}

type docResponse struct{ Code, Description string }

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

func renderDocs(doc *openAPI) ([]byte, error) {
	tmpl, err := template.ParseFS(assets, "assets/docs.html.tmpl")
	if err != nil {
		return nil, err
	}
	var entries []docEntry
	for path, ops := range doc.Paths {
		for method, op := range ops {
			e := docEntry{Method: strings.ToUpper(method), Path: path, Summary: op.Summary, Description: op.Description,
				Parameters: op.Parameters, HasBody: len(op.RequestBody) > 0, Public: op.Security != nil && len(op.Security) == 0}
			if len(op.Tags) > 0 {
				e.Tag = op.Tags[0]
			}
			for code, r := range op.Responses {
				e.Responses = append(e.Responses, docResponse{code, r.Description})
			}
			sort.Slice(e.Responses, func(i, j int) bool { return e.Responses[i].Code < e.Responses[j].Code })
			entries = append(entries, e)
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].Tag != entries[j].Tag {
			return entries[i].Tag < entries[j].Tag
		}
		if entries[i].Path != entries[j].Path {
			return entries[i].Path < entries[j].Path
		}
		return entries[i].Method < entries[j].Method
	})
	var schemas []string
	for name := range doc.Components.Schemas {
		schemas = append(schemas, name)
	}
	sort.Strings(schemas)
	type schemaView struct{ Name, JSON string }
	var sv []schemaView
	for _, name := range schemas {
		var buf bytes.Buffer
		json.Indent(&buf, doc.Components.Schemas[name], "", "  ")
		sv = append(sv, schemaView{name, buf.String()})
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, map[string]any{"Info": doc.Info, "Entries": entries, "Schemas": sv})
	return out.Bytes(), err
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
