package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
)

var _ pipeline.AnalyzerRunner = (*AnalyzerRunner)(nil)

// freeTextSchema is used by analyzers without an output schema.
var freeTextSchema = MustSchema("analysis", object("analysis_text", str()))

// AnalyzerRunner runs a tenant's LLM analyzers with a chat model.
type AnalyzerRunner struct{ c *Client }

// NewAnalyzerRunner returns an AnalyzerRunner using c.
func NewAnalyzerRunner(c *Client) *AnalyzerRunner { return &AnalyzerRunner{c: c} }

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// schemaName derives a valid response format name from the analyzer's name.
func schemaName(a *callscope.Analyzer) string {
	n := strings.Trim(unsafeName.ReplaceAllString(a.Name, "_"), "_")
	if n == "" {
		n = "analyzer"
	}
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

// RunAnalyzer runs a on the call with its prompt as the instructions. With
// an output schema the answer must match it; output is the answer and text
// a readable rendering of it. Without one, text is the model's answer and
// output is nil. A schema whose top level is not an object is wrapped in
// {"result": …} for the request and unwrapped again. Returns EINVALID if
// the analyzer has no prompt or its schema does not compile.
func (r *AnalyzerRunner) RunAnalyzer(ctx context.Context, a *callscope.Analyzer, in pipeline.Input) (string, json.RawMessage, pipeline.Usage, error) {
	if strings.TrimSpace(a.Prompt) == "" {
		return "", nil, pipeline.Usage{}, callscope.Errorf(callscope.EINVALID, "analyzer %q has no prompt", a.Name)
	}
	system := "You analyse a phone call transcript for the organisation that took or made the call. Follow these instructions:\n" +
		"<instructions>\n" + strings.TrimSpace(a.Prompt) + "\n</instructions>\n"
	user := callFacts(in) + transcript(in)
	if len(a.OutputSchema) == 0 || string(a.OutputSchema) == "null" {
		var ans struct {
			AnalysisText string `json:"analysis_text"`
		}
		u, err := r.c.Complete(ctx, Request{Schema: freeTextSchema, System: system + "Put your answer in \"analysis_text\". " + untrusted, User: user}, &ans)
		if err != nil {
			return "", nil, u, err
		}
		return strings.TrimSpace(ans.AnalysisText), nil, u, nil
	}
	doc := a.OutputSchema
	wrapped := false
	var top map[string]any
	if err := json.Unmarshal(doc, &top); err != nil {
		return "", nil, pipeline.Usage{}, callscope.Errorf(callscope.EINVALID, "analyzer %q: output schema is not a JSON object", a.Name)
	}
	if top["type"] != "object" {
		wrapped = true
		doc, _ = json.Marshal(object("result", json.RawMessage(a.OutputSchema)))
	}
	schema, err := NewSchema(schemaName(a), doc)
	if err != nil {
		return "", nil, pipeline.Usage{}, fmt.Errorf("analyzer %q: %w", a.Name, err)
	}
	var out json.RawMessage
	u, err := r.c.Complete(ctx, Request{Schema: schema, System: system + untrusted, User: user}, &out)
	if err != nil {
		return "", nil, u, err
	}
	if wrapped {
		var w struct {
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(out, &w); err != nil {
			return "", nil, u, err
		}
		out = w.Result
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return "", nil, u, err
	}
	return render(v), out, u, nil
}

// render writes a JSON value as readable text: "Key: value" lines, nested
// objects indented, lists as "- " items.
func render(v any) string {
	var b strings.Builder
	renderValue(&b, v, 0)
	return strings.TrimRight(b.String(), "\n")
}

func renderValue(b *strings.Builder, v any, depth int) {
	pad := strings.Repeat("  ", depth)
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			label := humanize(k)
			switch c := t[k].(type) {
			case map[string]any, []any:
				if isEmpty(c) {
					fmt.Fprintf(b, "%s%s: none\n", pad, label)
					continue
				}
				fmt.Fprintf(b, "%s%s:\n", pad, label)
				renderValue(b, c, depth+1)
			default:
				fmt.Fprintf(b, "%s%s: %s\n", pad, label, scalar(c))
			}
		}
	case []any:
		for _, c := range t {
			switch c.(type) {
			case map[string]any, []any:
				fmt.Fprintf(b, "%s-\n", pad)
				renderValue(b, c, depth+1)
			default:
				fmt.Fprintf(b, "%s- %s\n", pad, scalar(c))
			}
		}
	default:
		fmt.Fprintf(b, "%s%s\n", pad, scalar(t))
	}
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

func scalar(v any) string {
	switch t := v.(type) {
	case nil:
		return "-"
	case bool:
		if t {
			return "yes"
		}
		return "no"
	case string:
		return oneLine(t)
	}
	return fmt.Sprint(v)
}

// humanize turns "next_steps" into "Next steps".
func humanize(k string) string {
	s := strings.TrimSpace(strings.NewReplacer("_", " ", "-", " ").Replace(k))
	if s == "" {
		return k
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
