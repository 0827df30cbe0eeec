package stt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
)

// HTTPConfig says which transcription server to call and how.
type HTTPConfig struct {
	// BaseURL is the server's root: "https://api.openai.com/v1" or
	// "http://vllm:8000/v1" for OpenAI-compatible servers,
	// "http://whisper:8080" for whisper.cpp.
	BaseURL string
	// Path is appended to BaseURL: "/audio/transcriptions" for
	// OpenAI-compatible servers and "/inference" for whisper.cpp unless set
	// (whisper-server's --inference-path changes it).
	Path string
	// APIKey is sent as a bearer token; local servers usually need none.
	APIKey string
	// Model is the model name, e.g. "whisper-1" or
	// "Systran/faster-whisper-small"; whisper.cpp ignores it.
	Model string
	// Timeout bounds each request (default DefaultHTTPTimeout).
	Timeout time.Duration
	// HTTPClient makes the requests (the product passes one that refuses
	// private addresses); nil means a plain client.
	HTTPClient *http.Client
	// NoSpeechThreshold drops segments whose no_speech_prob reaches it
	// (default 0.6, Whisper's own; with a confident avg_logprob ≥ -1 the
	// segment is kept unless no_speech_prob also reaches 0.9).
	NoSpeechThreshold float64
}

// DefaultHTTPTimeout bounds a transcription request when HTTPConfig.Timeout
// is 0.
const DefaultHTTPTimeout = 5 * time.Minute

// maxResponseBytes bounds the answer read from a server.
const maxResponseBytes = 16 << 20

// HTTPClient transcribes on a server over HTTP: an OpenAI-compatible
// /v1/audio/transcriptions or whisper.cpp's /inference. It is safe for
// concurrent use.
type HTTPClient struct {
	cfg      HTTPConfig
	provider string
	client   *http.Client
}

var _ Engine = (*HTTPClient)(nil)

// NewOpenAI returns a client for an OpenAI-compatible transcription server
// (OpenAI, vLLM, speaches, LocalAI). Returns EINVALID without a base URL
// or model.
func NewOpenAI(cfg HTTPConfig) (*HTTPClient, error) {
	if cfg.Model == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "stt: model is required for an OpenAI-compatible server")
	}
	if cfg.Path == "" {
		cfg.Path = "/audio/transcriptions"
	}
	return newHTTP(cfg, ProviderOpenAI)
}

// NewWhisperCpp returns a client for whisper.cpp's whisper-server. Returns
// EINVALID without a base URL.
func NewWhisperCpp(cfg HTTPConfig) (*HTTPClient, error) {
	if cfg.Path == "" {
		cfg.Path = "/inference"
	}
	return newHTTP(cfg, ProviderWhisperCpp)
}

func newHTTP(cfg HTTPConfig, provider string) (*HTTPClient, error) {
	if cfg.BaseURL == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "stt: base URL is required for %s", provider)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if !strings.HasPrefix(cfg.Path, "/") {
		cfg.Path = "/" + cfg.Path
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHTTPTimeout
	}
	if cfg.NoSpeechThreshold <= 0 {
		cfg.NoSpeechThreshold = 0.6
	}
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{}
	}
	return &HTTPClient{cfg: cfg, provider: provider, client: c}, nil
}

// Describe says which server and model the client uses.
func (c *HTTPClient) Describe() Description {
	return Description{Provider: c.provider, Model: c.cfg.Model, Endpoint: c.cfg.BaseURL + c.cfg.Path}
}

// Health checks that the server answers: GET {base}/models for
// OpenAI-compatible servers, GET {base}/ for whisper.cpp. Any answer below
// 500 other than 401/403 counts (whisper-server has no model listing).
// Returns EUNAVAILABLE otherwise.
func (c *HTTPClient) Health(ctx context.Context) error {
	u := c.cfg.BaseURL + "/"
	if c.provider == ProviderOpenAI {
		u = c.cfg.BaseURL + "/models"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return permanent(callscope.EUNAVAILABLE, 0, err, "bad base URL")
	}
	c.auth(req)
	resp, err := c.client.Do(req)
	if err != nil {
		return retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot reach %s", c.cfg.BaseURL)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return retryable(callscope.EUNAVAILABLE, resp.StatusCode, 0, nil, "server answers %s", resp.Status)
	}
	return nil
}

func (c *HTTPClient) auth(req *http.Request) {
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
}

// Transcribe sends the clip as a 16 kHz WAV file and returns the server's
// segments, timed from the start of the clip, without the ones Whisper
// invents on silence. HTTP 429 (honouring Retry-After), 408, 5xx,
// connection errors and timeouts are retryable; other answers are
// permanent EINVALID errors.
func (c *HTTPClient) Transcribe(ctx context.Context, a Audio) (Result, error) {
	a, err := at16k(a)
	if err != nil {
		return Result{}, err
	}
	body, ctype, err := c.form(a)
	if err != nil {
		return Result{}, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.cfg.BaseURL+c.cfg.Path, bytes.NewReader(body))
	if err != nil {
		return Result{}, permanent(callscope.EINVALID, 0, err, "bad server URL")
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	c.auth(req)
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return Result{}, c.transportError(ctx, rctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	took := time.Since(start)
	if err != nil {
		return Result{}, c.transportError(ctx, rctx, err)
	}
	if err := statusError(resp, data); err != nil {
		return Result{}, err
	}
	if len(data) > maxResponseBytes {
		return Result{}, permanent(callscope.EINVALID, resp.StatusCode, nil, "answer larger than %d bytes", maxResponseBytes)
	}
	res, err := parseVerbose(data, a.Seconds(), c.cfg.NoSpeechThreshold)
	if err != nil {
		// A proxy's HTML page or a truncated body: the server is not well.
		return Result{}, retryable(callscope.EUNAVAILABLE, resp.StatusCode, 0, err, "unreadable answer")
	}
	res.EngineTime = took
	return res, nil
}

// form builds the multipart request body.
func (c *HTTPClient) form(a Audio) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "audio.wav")
	if err != nil {
		return nil, "", err
	}
	pcm := &audio.PCM{SampleRate: a.SampleRate, Channels: [][]float32{a.Samples}}
	if err := audio.EncodeWAV(fw, pcm); err != nil {
		return nil, "", err
	}
	field := func(k, v string) { mw.WriteField(k, v) }
	if c.cfg.Model != "" {
		field("model", c.cfg.Model)
	}
	lang := languageCode(a.Language)
	switch {
	case lang != "":
		field("language", lang)
	case c.provider == ProviderWhisperCpp:
		// whisper-server assumes English when language is missing.
		field("language", "auto")
	}
	field("response_format", "verbose_json")
	field("temperature", "0")
	if c.provider == ProviderOpenAI {
		field("timestamp_granularities[]", "segment")
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// transportError classifies a request that got no complete answer.
func (c *HTTPClient) transportError(ctx, rctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The caller gave up (shutdown, job cancelled): not the server's fault.
		return ctx.Err()
	}
	if rctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return retryable(callscope.EUNAVAILABLE, 0, 0, err, "no answer within %s", c.cfg.Timeout)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot reach server")
	}
	// Connection resets and EOFs without a typed error are transient too.
	return retryable(callscope.EUNAVAILABLE, 0, 0, err, "request failed")
}

// statusError turns a non-2xx answer into an *Error.
func statusError(resp *http.Response, body []byte) error {
	s := resp.StatusCode
	if s >= 200 && s < 300 {
		return nil
	}
	detail := serverMessage(body)
	switch {
	case s == http.StatusTooManyRequests:
		return retryable(callscope.ERATELIMIT, s, callscope.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), nil, "rate limited%s", detail)
	case s == http.StatusRequestTimeout || s >= 500:
		return retryable(callscope.EUNAVAILABLE, s, callscope.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), nil, "server error%s", detail)
	default:
		return permanent(callscope.EINVALID, s, nil, "request rejected%s", detail)
	}
}

// serverMessage extracts a short error message from an answer body.
func serverMessage(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var o struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &o) == nil && o.Message != "" {
			msg = o.Message
		} else {
			json.Unmarshal(e.Error, &msg)
		}
	}
	if msg == "" {
		return ""
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return ": " + msg
}

// verbose is the verbose_json answer in every server's dialect: fields are
// pointers because vLLM sends null for the ones it does not compute and
// LocalAI and whisper.cpp leave some out.
type verbose struct {
	Text     string   `json:"text"`
	Language string   `json:"language"`
	Duration *float64 `json:"duration"`
	Segments []struct {
		Start        float64  `json:"start"`
		End          float64  `json:"end"`
		Text         string   `json:"text"`
		AvgLogprob   *float64 `json:"avg_logprob"`
		NoSpeechProb *float64 `json:"no_speech_prob"`
		Words        []struct {
			Word        string   `json:"word"`
			Start       float64  `json:"start"`
			End         float64  `json:"end"`
			Probability *float64 `json:"probability"`
		} `json:"words"`
	} `json:"segments"`
}

// parseVerbose decodes a verbose_json (or plain json) answer for a clip of
// the given length and drops what is not speech.
func parseVerbose(data []byte, clipSeconds, noSpeech float64) (Result, error) {
	var v verbose
	if err := json.Unmarshal(data, &v); err != nil {
		return Result{}, fmt.Errorf("not a transcription: %w", err)
	}
	res := Result{Language: languageCode(v.Language)}
	if len(v.Segments) == 0 {
		// A json answer, or a server that ignores verbose_json: the text
		// covers the whole clip.
		if t := strings.TrimSpace(v.Text); t != "" && !Hallucination(t) {
			res.Segments = []Segment{{Start: 0, End: clipSeconds, Text: t}}
		}
		return res, nil
	}
	scale := timeScale(v, clipSeconds)
	for _, s := range v.Segments {
		text := strings.TrimSpace(s.Text)
		if text == "" || Hallucination(text) {
			continue
		}
		if s.NoSpeechProb != nil {
			p := *s.NoSpeechProb
			confident := s.AvgLogprob != nil && *s.AvgLogprob >= -1
			if p >= 0.9 || (p >= noSpeech && !confident) {
				continue
			}
		}
		seg := Segment{Start: s.Start * scale, End: s.End * scale, Text: text}
		var psum float64
		var pn int
		for _, w := range s.Words {
			wt := strings.TrimSpace(w.Word)
			if wt == "" {
				continue
			}
			word := Word{Text: wt, Start: w.Start * scale, End: w.End * scale}
			if w.Probability != nil {
				word.Confidence = clamp01(*w.Probability)
				psum += word.Confidence
				pn++
			}
			seg.Words = append(seg.Words, word)
		}
		switch {
		case s.AvgLogprob != nil:
			seg.Confidence = clamp01(math.Exp(*s.AvgLogprob))
		case pn > 0:
			seg.Confidence = psum / float64(pn)
		}
		seg.Start = clampTime(seg.Start, clipSeconds)
		seg.End = clampTime(seg.End, clipSeconds)
		if seg.End < seg.Start {
			seg.End = seg.Start
		}
		res.Segments = append(res.Segments, seg)
	}
	return res, nil
}

// timeScale returns the factor that turns the answer's times into seconds:
// 1, or 1e-9 when they are integer nanoseconds (older LocalAI sends Go
// time.Duration values), which shows as times far past the clip's end.
func timeScale(v verbose, clipSeconds float64) float64 {
	var maxEnd float64
	for _, s := range v.Segments {
		maxEnd = max(maxEnd, s.End, s.Start)
	}
	limit := max(clipSeconds, 1) * 1000
	if v.Duration != nil && *v.Duration > 0 {
		limit = max(limit, *v.Duration*1000)
	}
	if maxEnd > limit {
		return 1e-9
	}
	return 1
}

func clampTime(t, clip float64) float64 {
	if t < 0 || math.IsNaN(t) {
		return 0
	}
	if clip > 0 && t > clip {
		return clip
	}
	return t
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return min(x, 1)
}

// hallucinations are phrases Whisper-class models write for silence,
// music and noise (they were trained on subtitled video), normalised.
var hallucinations = map[string]bool{
	"thank you for watching":                       true,
	"thanks for watching":                          true,
	"thank you so much for watching":               true,
	"thank you very much for watching":             true,
	"thank you for watching and see you next time": true,
	"please subscribe":                             true,
	"please subscribe to my channel":               true,
	"like and subscribe":                           true,
	"don't forget to like and subscribe":           true,
	"see you next time":                            true,
	"see you in the next video":                    true,
	"you":                                          true,
	"music":                                        true,
	"applause":                                     true,
	"silence":                                      true,
	"blank audio":                                  true,
	"inaudible":                                    true,
	"ご視聴ありがとうございました":                               true,
}

// hallucinationPrefixes start credits lines Whisper copies from subtitles.
var hallucinationPrefixes = []string{
	"subtitles by", "subtitled by", "captions by", "captioned by", "transcribed by",
	"transcription by", "translated by", "translation by", "subtitles made by",
	"sous titres", "sottotitoli", "untertitel", "amara org", "www ", "http",
}

// Hallucination reports whether text is one of the phrases Whisper-class
// models are known to produce on silence or noise ("Thanks for watching!",
// "Subtitles by …", "[BLANK_AUDIO]"), which are dropped rather than put in a
// transcript. A lone "Thank you" or "Bye" is kept: on a phone line people
// say it.
func Hallucination(text string) bool {
	n := strings.Join(strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}), " ")
	if n == "" {
		return true // only punctuation, "…" or "[ ]"
	}
	if hallucinations[n] {
		return true
	}
	for _, p := range hallucinationPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// languageCode turns a hint or a reported language ("en-US", "english")
// into an ISO-639-1 code; unknown names pass through lower-cased.
func languageCode(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "auto" {
		return ""
	}
	if c, ok := languageNames[s]; ok {
		return c
	}
	if i := strings.IndexAny(s, "-_"); i == 2 || i == 3 {
		return s[:i]
	}
	return s
}

var languageNames = map[string]string{
	"english": "en", "swahili": "sw", "french": "fr", "spanish": "es", "german": "de",
	"portuguese": "pt", "italian": "it", "dutch": "nl", "arabic": "ar", "chinese": "zh",
	"japanese": "ja", "korean": "ko", "russian": "ru", "hindi": "hi", "amharic": "am",
	"somali": "so", "yoruba": "yo", "hausa": "ha", "zulu": "zu", "afrikaans": "af",
	"turkish": "tr", "polish": "pl", "ukrainian": "uk", "vietnamese": "vi", "indonesian": "id",
}

// at16k returns a with its samples at SampleRate.
func at16k(a Audio) (Audio, error) {
	if a.SampleRate == SampleRate {
		return a, nil
	}
	if a.SampleRate == 0 {
		return a, permanent(callscope.EINVALID, 0, nil, "audio has no sample rate")
	}
	x, err := audio.Resample(a.Samples, a.SampleRate, SampleRate)
	if err != nil {
		return a, permanent(callscope.EINVALID, 0, err, "cannot resample to %d Hz", SampleRate)
	}
	a.Samples, a.SampleRate = x, SampleRate
	return a, nil
}
