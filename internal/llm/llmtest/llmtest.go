// Package llmtest is a fake OpenAI-compatible chat-completions server for
// tests. It checks that every request has the shape the real servers need
// (a model, messages, an explicit temperature and a nested json_schema
// response format with a valid name, a schema and strict), records every
// request so a test can assert what left the machine, and answers from a
// script or a handler.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Response is one answer of the fake server.
type Response struct {
	// Status is the HTTP status (200 when 0).
	Status int
	// Content is the assistant message content: the model's JSON answer.
	Content string
	// Body, when set, is sent verbatim instead of a chat completion.
	Body string
	// Header is added to the response (e.g. Retry-After).
	Header http.Header
	// Delay holds the answer back, for timeouts; a client that gives up
	// ends the wait.
	Delay time.Duration
	// FinishReason is the choice's finish reason ("stop" when empty).
	FinishReason string
	// PromptTokens and CompletionTokens are reported in usage (100 and 20
	// when both are 0).
	PromptTokens, CompletionTokens int
}

// JSON answers with v encoded as the message content.
func JSON(v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return Response{Content: string(b)}
}

// Content answers with s as the message content, verbatim.
func Content(s string) Response { return Response{Content: s} }

// InvalidJSON answers with message content that is not JSON.
func InvalidJSON() Response { return Response{Content: `{"text": "The caller asked about`} }

// RateLimited answers 429 with the given Retry-After header value (seconds
// or an HTTP-date; none when empty).
func RateLimited(retryAfter string) Response {
	r := Error(http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit reached")
	if retryAfter != "" {
		r.Header = http.Header{"Retry-After": {retryAfter}}
	}
	return r
}

// ServerError answers 500.
func ServerError() Response {
	return Error(http.StatusInternalServerError, "server_error", "The server had an error")
}

// Error answers status with an OpenAI-style error body.
func Error(status int, code, message string) Response {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": message, "type": code, "code": code, "param": nil}})
	return Response{Status: status, Body: string(b)}
}

// Slow is r held back by d.
func Slow(d time.Duration, r Response) Response {
	r.Delay = d
	return r
}

// Message is one chat message of a request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is one recorded chat-completions request.
type Request struct {
	// Body is the raw request body.
	Body   []byte
	Header http.Header

	Model               string    `json:"model"`
	Messages            []Message `json:"messages"`
	Temperature         *float64  `json:"temperature"`
	MaxTokens           *int      `json:"max_tokens"`
	MaxCompletionTokens *int      `json:"max_completion_tokens"`
	ResponseFormat      struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// System is the content of the request's system messages.
func (r Request) System() string { return r.content("system") }

// User is the content of the request's user messages.
func (r Request) User() string { return r.content("user") }

func (r Request) content(role string) string {
	s := ""
	for _, m := range r.Messages {
		if m.Role == role {
			s += m.Content
		}
	}
	return s
}

// Server is a fake chat-completions server. Its zero value is not usable;
// call New.
type Server struct {
	// URL is the base URL to configure a client with (ending in /v1).
	URL string

	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	script  []Response
	handler func(Request) Response
	reqs    []Request
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// New starts a fake server that is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.serve)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("llmtest: unexpected %s %s", r.Method, r.URL.Path)
		writeJSON(w, Error(http.StatusNotFound, "not_found", "unknown path"))
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/v1"
	t.Cleanup(s.srv.Close)
	return s
}

// Script queues answers, served one per request in order.
func (s *Server) Script(rs ...Response) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, rs...)
	return s
}

// Handle answers every request the script does not cover with f, which
// sees the decoded request.
func (s *Server) Handle(f func(Request) Response) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = f
	return s
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Close stops the server early, so a client sees connection errors.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req := Request{Body: body, Header: r.Header.Clone()}
	if err := json.Unmarshal(body, &req); err != nil {
		s.reject(w, "body is not JSON: %v", err)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if problem := checkShape(body, req); problem != "" {
		s.reject(w, "%s", problem)
		return
	}
	s.mu.Lock()
	var resp Response
	switch {
	case len(s.script) > 0:
		resp, s.script = s.script[0], s.script[1:]
	case s.handler != nil:
		h := s.handler
		s.mu.Unlock()
		resp = h(req)
		s.mu.Lock()
	default:
		s.mu.Unlock()
		s.reject(w, "no scripted answer left for request %d", len(s.Requests()))
		return
	}
	s.mu.Unlock()
	if resp.Delay > 0 {
		select {
		case <-time.After(resp.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if resp.Body == "" {
		resp.Body = completion(req.Model, resp)
	}
	writeJSON(w, resp)
}

// reject fails the test and answers 400, as a strict server would.
func (s *Server) reject(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.t.Errorf("llmtest: bad request: %s", msg)
	writeJSON(w, Error(http.StatusBadRequest, "invalid_request_error", msg))
}

// checkShape returns what is wrong with a request, "" if nothing.
func checkShape(body []byte, req Request) string {
	var raw struct {
		Temperature    json.RawMessage            `json:"temperature"`
		ResponseFormat map[string]json.RawMessage `json:"response_format"`
	}
	_ = json.Unmarshal(body, &raw)
	var schema map[string]any
	switch {
	case req.Model == "":
		return "model is missing"
	case len(req.Messages) == 0:
		return "messages are missing"
	case req.Temperature == nil:
		return "temperature is missing (Ollama would sample at 1.0)"
	case req.ResponseFormat.Type != "json_schema":
		return fmt.Sprintf("response_format.type is %q, want json_schema", req.ResponseFormat.Type)
	case raw.ResponseFormat["schema"] != nil:
		return "response_format has a flat schema (llama.cpp ignores it); nest it in json_schema"
	case raw.ResponseFormat["json_schema"] == nil:
		return "response_format.json_schema is missing"
	case !namePattern.MatchString(req.ResponseFormat.JSONSchema.Name):
		return fmt.Sprintf("json_schema.name %q does not match %s", req.ResponseFormat.JSONSchema.Name, namePattern)
	case json.Unmarshal(req.ResponseFormat.JSONSchema.Schema, &schema) != nil || schema == nil:
		return "json_schema.schema is not an object"
	case req.ResponseFormat.JSONSchema.Strict == nil:
		return "json_schema.strict is missing"
	}
	for i, m := range req.Messages {
		if m.Role == "" || m.Content == "" {
			return fmt.Sprintf("message %d has no role or content", i)
		}
	}
	return ""
}

func completion(model string, r Response) string {
	in, out := r.PromptTokens, r.CompletionTokens
	if in == 0 && out == 0 {
		in, out = 100, 20
	}
	finish := r.FinishReason
	if finish == "" {
		finish = "stop"
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": r.Content, "refusal": nil},
			"finish_reason": finish,
			"logprobs":      nil,
		}},
		"usage": map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out},
	})
	return string(b)
}

func writeJSON(w http.ResponseWriter, r Response) {
	for k, vs := range r.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, r.Body)
}
