package llmtest_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/callscope/callscope/internal/llm/llmtest"
)

// recorder keeps the failures the server reports instead of failing the
// test, so rejected shapes can be asserted.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, format)
	_ = args
}

const good = `{"model":"m","temperature":0,"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}],
"response_format":{"type":"json_schema","json_schema":{"name":"call_summary","schema":{"type":"object"},"strict":true}}}`

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestShapeChecks(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"MissingTemperature": strings.Replace(good, `"temperature":0,`, "", 1),
		"MissingModel":       strings.Replace(good, `"model":"m"`, `"model":""`, 1),
		"NoMessages":         strings.Replace(good, `[{"role":"system","content":"s"},{"role":"user","content":"u"}]`, `[]`, 1),
		"FlatSchema":         strings.Replace(good, `"json_schema":{"name":"call_summary","schema":{"type":"object"},"strict":true}`, `"schema":{"type":"object"}`, 1),
		"JSONObject":         strings.Replace(good, `"type":"json_schema"`, `"type":"json_object"`, 1),
		"BadName":            strings.Replace(good, `"call_summary"`, `"call summary"`, 1),
		"NoStrict":           strings.Replace(good, `,"strict":true`, "", 1),
		"SchemaNotObject":    strings.Replace(good, `"schema":{"type":"object"}`, `"schema":"x"`, 1),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{TB: t}
			srv := llmtest.New(rec).Script(llmtest.Content(`{}`))
			status, _ := post(t, srv.URL, body)
			if status != http.StatusBadRequest || len(rec.errs) != 1 {
				t.Errorf("status %d, %d reported failures; want 400 and one failure", status, len(rec.errs))
			}
			if len(srv.Requests()) != 1 {
				t.Errorf("rejected request not recorded")
			}
		})
	}
	t.Run("Good", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{TB: t}
		srv := llmtest.New(rec).Script(llmtest.Content(`{"ok":true}`))
		status, body := post(t, srv.URL, good)
		if status != http.StatusOK || len(rec.errs) != 0 || !strings.Contains(body, `"content":"{\"ok\":true}"`) || !strings.Contains(body, `"prompt_tokens":100`) {
			t.Errorf("status %d, failures %v, body %s", status, rec.errs, body)
		}
	})
}

func TestScriptThenHandler(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(llmtest.RateLimited("3"))
	srv.Handle(func(r llmtest.Request) llmtest.Response {
		return llmtest.Content(`{"echo":"` + r.User() + `"}`)
	})
	if status, _ := post(t, srv.URL, good); status != http.StatusTooManyRequests {
		t.Errorf("first answer %d, want the scripted 429", status)
	}
	if _, body := post(t, srv.URL, good); !strings.Contains(body, `{\"echo\":\"u\"}`) {
		t.Errorf("second answer %s, want the handler's", body)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].System() != "s" || *reqs[0].Temperature != 0 || !*reqs[0].ResponseFormat.JSONSchema.Strict {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestUnscriptedRequestFails(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	srv := llmtest.New(rec)
	if status, _ := post(t, srv.URL, good); status != http.StatusBadRequest || len(rec.errs) != 1 {
		t.Errorf("status %d, failures %v", status, rec.errs)
	}
}
