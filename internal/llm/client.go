package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// Config says which server and model to use and how to call it.
type Config struct {
	// BaseURL is the server's OpenAI-compatible root, e.g.
	// "http://localhost:11434/v1" for Ollama or "https://api.openai.com/v1".
	BaseURL string
	// APIKey is sent as a bearer token; local servers usually need none.
	APIKey string
	// Model is the model name, e.g. "gpt-4o-mini" or "qwen2.5:7b".
	Model string
	// Temperature is always sent (Ollama's /v1 defaults to 1.0 when it is
	// missing); the zero value asks for deterministic answers.
	Temperature float64
	// MaxTokens caps the answer's length; 0 leaves it to the server.
	MaxTokens int
	// MaxCompletionTokens sends MaxTokens as max_completion_tokens, which
	// OpenAI's reasoning models require, instead of max_tokens, which every
	// self-hosted server reads.
	MaxCompletionTokens bool
	// Timeout bounds each request (default 2 minutes).
	Timeout time.Duration
	// InputPricePer1K and OutputPricePer1K price the tokens for Usage.Cost.
	InputPricePer1K  float64
	OutputPricePer1K float64
	// HTTPClient replaces the default HTTP client (e.g. with an egress
	// guard); its own timeout, if any, also applies.
	HTTPClient *http.Client
}

// Client calls a chat-completions server for structured answers. It is
// safe for concurrent use.
type Client struct {
	cfg Config
	api openai.Client
}

// DefaultTimeout bounds a request when Config.Timeout is 0.
const DefaultTimeout = 2 * time.Minute

// New returns a Client for cfg. Returns EINVALID if the base URL or model
// is missing.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "llm: base URL is required")
	}
	if cfg.Model == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "llm: model is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Temperature < 0 || cfg.Temperature > 2 {
		return nil, callscope.Errorf(callscope.EINVALID, "llm: temperature %v is outside 0–2", cfg.Temperature)
	}
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.BaseURL),
		// An empty key sends no Authorization header, and overrides any
		// OPENAI_API_KEY in the environment: only configured secrets leave.
		option.WithAPIKey(cfg.APIKey),
		option.WithHeaderDel("OpenAI-Organization"),
		option.WithHeaderDel("OpenAI-Project"),
		// The durable job owns retries; the SDK must not retry behind it.
		option.WithMaxRetries(0),
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	return &Client{cfg: cfg, api: openai.NewClient(opts...)}, nil
}

// Model is the configured model name.
func (c *Client) Model() string { return c.cfg.Model }

// Request is one structured question to the model.
type Request struct {
	// Schema is the answer's JSON schema, sent and enforced.
	Schema *Schema
	// System is the instructions; User is the transcript and call facts.
	System string
	User   string
	// Check, if set, inspects the decoded answer; an error makes the
	// answer invalid, like a schema violation.
	Check func() error
}

// Complete sends req and decodes the validated answer into out (a pointer).
// An answer that is not JSON, violates the schema or fails req.Check is
// asked for once more; a second bad answer is a permanent EINVALID error
// saying what was wrong. HTTP 429, 5xx, connection errors and timeouts are
// retryable; other 4xx answers are permanent. Usage counts every attempt.
func (c *Client) Complete(ctx context.Context, req Request, out any) (pipeline.Usage, error) {
	var total pipeline.Usage
	var problem error
	for attempt := 0; attempt < 2; attempt++ {
		content, truncated, u, err := c.call(ctx, req)
		total = total.Add(u)
		if err != nil {
			return total, err
		}
		if truncated {
			problem = errors.New("answer cut short at the token limit (finish_reason length)")
			continue
		}
		if problem = c.decode(req, content, out); problem == nil {
			return total, nil
		}
	}
	return total, permanent(callscope.EINVALID, 0, nil, "%s answer invalid after a retry: %v", req.Schema.Name, problem)
}

func (c *Client) decode(req Request, content string, out any) error {
	raw := []byte(strings.TrimSpace(content))
	if err := req.Schema.Validate(raw); err != nil {
		return err
	}
	rv := reflect.ValueOf(out)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("cannot decode: %w", err)
	}
	if req.Check != nil {
		return req.Check()
	}
	return nil
}

// call makes one HTTP request and returns the message content and whether
// it was cut short by the token limit.
func (c *Client) call(ctx context.Context, req Request) (string, bool, pipeline.Usage, error) {
	params := openai.ChatCompletionNewParams{
		Model: c.cfg.Model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(req.System),
			openai.UserMessage(req.User),
		},
		Temperature: openai.Float(c.cfg.Temperature),
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
					Name:   req.Schema.Name,
					Schema: req.Schema.Doc,
					Strict: openai.Bool(req.Schema.Strict),
				},
			},
		},
	}
	if c.cfg.MaxTokens > 0 {
		if c.cfg.MaxCompletionTokens {
			params.MaxCompletionTokens = openai.Int(int64(c.cfg.MaxTokens))
		} else {
			params.MaxTokens = openai.Int(int64(c.cfg.MaxTokens))
		}
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var httpResp *http.Response
	resp, err := c.api.Chat.Completions.New(rctx, params, option.WithResponseInto(&httpResp))
	if err != nil {
		return "", false, pipeline.Usage{}, c.classify(ctx, rctx, httpResp, err)
	}
	u := c.usage(resp.Usage)
	if len(resp.Choices) == 0 {
		return "", false, u, retryable(callscope.EUNAVAILABLE, 0, 0, nil, "answer has no choices")
	}
	ch := resp.Choices[0]
	if ch.Message.Refusal != "" {
		return "", false, u, permanent(callscope.EINVALID, 0, nil, "model refused: %s", ch.Message.Refusal)
	}
	return ch.Message.Content, ch.FinishReason == "length", u, nil
}

func (c *Client) usage(u openai.CompletionUsage) pipeline.Usage {
	in, out := int(u.PromptTokens), int(u.CompletionTokens)
	return pipeline.Usage{
		InputTokens:  in,
		OutputTokens: out,
		Cost:         float64(in)/1000*c.cfg.InputPricePer1K + float64(out)/1000*c.cfg.OutputPricePer1K,
	}
}

// classify turns a failed request into an *Error.
func (c *Client) classify(ctx, rctx context.Context, resp *http.Response, err error) error {
	if ctx.Err() != nil {
		// The caller gave up (shutdown, job cancelled): not the provider's fault.
		return ctx.Err()
	}
	var apiErr *openai.Error
	status, detail := 0, ""
	if errors.As(err, &apiErr) {
		status = apiErr.StatusCode
		if m := oneLine(apiErr.Message); m != "" {
			detail = " (" + truncate(m, 200) + ")"
		}
	} else if resp != nil && resp.StatusCode >= 400 {
		status = resp.StatusCode
	}
	switch {
	case status == http.StatusTooManyRequests:
		after := time.Duration(0)
		if resp != nil {
			after = callscope.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return retryable(callscope.ERATELIMIT, status, after, err, "rate limited%s", detail)
	case status == http.StatusRequestTimeout || status >= 500:
		return retryable(callscope.EUNAVAILABLE, status, 0, err, "server error%s", detail)
	case status >= 400:
		return permanent(callscope.EINVALID, status, err, "request rejected%s", detail)
	}
	if rctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return retryable(callscope.EUNAVAILABLE, 0, 0, err, "no answer within %s", c.cfg.Timeout)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &ne) || errors.As(err, &oe) {
		return retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot reach server")
	}
	// Transport failures without a typed error (connection reset, EOF,
	// a body that is not JSON) are treated as transient.
	return retryable(callscope.EUNAVAILABLE, 0, 0, err, "request failed")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
