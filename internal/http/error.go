package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/callscope/callscope"
)

// codes maps each domain error code to its one HTTP status. Handlers never
// choose a status for an error themselves.
var codes = map[string]int{
	callscope.EBADREQUEST:   http.StatusBadRequest,
	callscope.ECONFLICT:     http.StatusConflict,
	callscope.EFORBIDDEN:    http.StatusForbidden,
	callscope.EINTERNAL:     http.StatusInternalServerError,
	callscope.EINVALID:      http.StatusUnprocessableEntity,
	callscope.ENOTFOUND:     http.StatusNotFound,
	callscope.ERATELIMIT:    http.StatusTooManyRequests,
	callscope.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	callscope.EUNAUTHORIZED: http.StatusUnauthorized,
	callscope.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// StatusOf returns the HTTP status for an error code.
func StatusOf(code string) int {
	if s, ok := codes[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// writeError answers with err in the one error shape: {"detail": "message"},
// or {"detail": [{"loc", "msg", "type"}…]} for field errors. Internal errors
// are logged and answered with "Internal error".
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := callscope.ErrorCode(err)
	status := StatusOf(code)
	if code == callscope.EINTERNAL {
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err.Error(),
			"request_id", w.Header().Get("X-Request-ID"))
	}
	if code == callscope.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callscope"`)
	}
	var e *callscope.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		writeJSON(w, status, map[string]any{"detail": e.Fields})
		return
	}
	writeJSON(w, status, map[string]any{"detail": callscope.ErrorMessage(err)})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"detail":"Internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

// decodeJSON reads a JSON object request body into dst. Malformed JSON, a
// value of the wrong type and an over-large body become field errors naming
// where.
func decodeJSON(r *http.Request, limit int64, dst any) error {
	body, err := readJSONBody(r, limit)
	if err != nil {
		return err
	}
	// callscope's own bodies are read strictly: an unknown or misspelled
	// field, or a key given twice, is an error that names it.
	return callscope.DecodeStrict(body, dst, "body")
}

// readJSONBody reads a request body of at most limit bytes that must be
// one well-formed JSON object (or, with arrays, array) in UTF-8.
func readJSONBody(r *http.Request, limit int64, arrays ...bool) ([]byte, error) {
	// The Content-Type is not checked: curl -d sends form encoding, and a
	// body that parses as JSON is what matters.
	if r.Body == nil || r.Body == http.NoBody {
		return nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Field required: a JSON body is expected", Type: "missing"})
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return nil, jsonError(err, limit)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Field required: a JSON body is expected", Type: "missing"})
	}
	if trimmed[0] != '{' && !(len(arrays) > 0 && arrays[0] && trimmed[0] == '[') {
		return nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Input should be a JSON object", Type: "model_type"})
	}
	if !utf8.Valid(body) {
		return nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Invalid JSON: the body is not valid UTF-8", Type: "json_invalid"})
	}
	if !json.Valid(trimmed) {
		// Decode to learn where it breaks.
		var v any
		return nil, jsonError(json.Unmarshal(trimmed, &v), limit)
	}
	// Whatever is accepted must read back: a number no float64 holds
	// (1e999) is refused here rather than stored.
	if p := callscope.JSONProblem(trimmed, false); p != nil {
		p.Loc = append([]string{"body"}, p.Loc...)
		return nil, callscope.ValidationError(*p)
	}
	if p := nulProblem(trimmed); p != nil {
		return nil, callscope.ValidationError(*p)
	}
	return body, nil
}

func jsonError(err error, limit int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return callscope.Errorf(callscope.ETOOLARGE, "Request body is larger than %d bytes", limit)
	case errors.As(err, &syn):
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", fmt.Sprint(syn.Offset)},
			Msg: "Invalid JSON: " + syn.Error(), Type: "json_invalid"})
	case errors.As(err, &typ):
		loc := []string{"body"}
		if typ.Field != "" {
			loc = append(loc, strings.Split(typ.Field, ".")...)
		}
		return callscope.ValidationError(callscope.FieldError{Loc: loc,
			Msg: fmt.Sprintf("Input should be a valid %s, not a JSON %s", jsonKind(typ.Type.Kind().String()), typ.Value), Type: "type_error"})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Invalid JSON: unexpected end of input", Type: "json_invalid"})
	}
	return callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Invalid JSON: " + err.Error(), Type: "json_invalid"})
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "float32", "float64":
		return "number"
	}
	if strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint") {
		return "integer"
	}
	return k
}

// fields collects validation problems and turns them into one error.
type fields []callscope.FieldError

func (f *fields) add(msg, typ string, loc ...string) {
	*f = append(*f, callscope.FieldError{Loc: loc, Msg: msg, Type: typ})
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return callscope.ValidationError(f...)
}
