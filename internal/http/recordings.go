package http

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/voicebot"
)

// recordingView is a recording as the API shows it, with its stable URL.
type recordingView struct {
	ID              string  `json:"id"`
	CallID          string  `json:"call_id"`
	Format          string  `json:"format"`
	ContentType     string  `json:"content_type"`
	Channels        int     `json:"channels"`
	DurationSeconds float64 `json:"duration_seconds"`
	SizeBytes       int64   `json:"size_bytes"`
	SourceURL       string  `json:"source_url,omitempty"`
	URL             *string `json:"url"`
	CreatedAt       string  `json:"created_at"`
}

func newRecordingView(c *callscope.Call, rec *callscope.Recording) recordingView {
	v := recordingView{ID: rec.ID, CallID: c.PublicID(), Format: rec.Format, ContentType: rec.ContentType, Channels: rec.Channels,
		DurationSeconds: rec.DurationSeconds, SizeBytes: rec.SizeBytes, SourceURL: rec.SourceURL, CreatedAt: rec.CreatedAt.Format(time.RFC3339Nano)}
	if rec.AccessToken != "" {
		u := "/recordings/" + rec.AccessToken
		v.URL = &u
	}
	return v
}

// codecTypes maps detected codecs to stored formats and content types.
var codecTypes = map[audio.Codec][2]string{
	audio.CodecWAV:  {"wav", "audio/wav"},
	audio.CodecMP3:  {"mp3", "audio/mpeg"},
	audio.CodecGSM:  {"gsm", "audio/x-gsm"},
	audio.CodecSlin: {"sln", "audio/L16"},
	audio.CodecULaw: {"ulaw", "audio/basic"},
	audio.CodecALaw: {"alaw", "audio/x-alaw-basic"},
}

// handleUploadRecording stores a recording sent as multipart form data
// (field "file") or as the raw request body. The format is detected from
// the content; headerless audio needs ?format=slin|ulaw|alaw (and
// ?sample_rate=). The recording gets a stable access-token URL.
func (s *Server) handleUploadRecording(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if s.Recordings == nil {
		return callscope.Errorf(callscope.EUNAVAILABLE, "No recording storage is configured")
	}
	c, err := s.Store.Call(ctx, tenantID(r), r.PathValue("call_id"))
	if err != nil {
		return err
	}
	var f fields
	hint := audio.Format{}
	if v := r.URL.Query().Get("format"); v != "" {
		hint = audio.FormatFromName("x." + v)
		if hint.Codec == audio.CodecUnknown {
			f.add("Unknown format "+strconv.Quote(v)+"; use wav, mp3, gsm, slin, ulaw or alaw", "enum", "query", "format")
		}
	}
	if v := r.URL.Query().Get("sample_rate"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < audio.MinSampleRate || n > audio.MaxSampleRate {
			f.add(fmt.Sprintf("Input should be a sample rate from %d to %d", audio.MinSampleRate, audio.MaxSampleRate), "value_error", "query", "sample_rate")
		}
		hint.SampleRate = n
	}
	if err := f.err(); err != nil {
		return err
	}
	body, name, err := uploadReader(r)
	if err != nil {
		return err
	}
	if hint.Codec == audio.CodecUnknown {
		hint = audio.FormatFromName(name)
	}
	br := bufio.NewReaderSize(body, 64<<10)
	head, _ := br.Peek(64 << 10)
	if len(head) == 0 {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "The recording is empty", Type: "missing"})
	}
	codec := audio.Detect(head, hint)
	types, ok := codecTypes[codec]
	if !ok {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body"},
			Msg: "Not a recognised recording (WAV, MP3 or GSM); give ?format=slin|ulaw|alaw for headerless audio", Type: "value_error"})
	}
	rec := &callscope.Recording{ID: "", TenantID: c.TenantID, CallID: c.ID, Format: types[0], ContentType: types[1], Channels: 1,
		AccessToken: voicebot.NewToken()}
	key := c.TenantID + "/" + c.ID + "/" + callscope.NewID() + "." + types[0]
	size, err := s.Recordings.Put(ctx, key, br)
	if err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return callscope.Errorf(callscope.ETOOLARGE, "Recording is larger than %d bytes", s.MaxUploadBytes)
		}
		return err
	}
	rec.StorageKey, rec.SizeBytes = key, size
	if pcm := s.probe(ctx, key, size, audio.Format{Codec: codec, SampleRate: hint.SampleRate, Channels: hint.Channels}); pcm != nil {
		rec.Channels, rec.DurationSeconds = len(pcm.Channels), pcm.Duration().Seconds()
	}
	if err := s.Calls.AttachRecording(ctx, c, rec); err != nil {
		s.Recordings.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	writeJSON(w, http.StatusCreated, newRecordingView(c, rec))
	return nil
}

// probeLimit bounds the recordings decoded at upload to learn their length.
const probeLimit = 64 << 20

// probe decodes a stored recording to learn its channels and duration; nil
// when it is too large or does not decode (the upload stands either way:
// processing reports decoding errors).
func (s *Server) probe(ctx context.Context, key string, size int64, hint audio.Format) *audio.PCM {
	if size > probeLimit {
		return nil
	}
	o, err := s.Recordings.Open(ctx, key)
	if err != nil {
		return nil
	}
	defer o.Close()
	pcm, err := audio.Decode(o, hint)
	if err != nil {
		return nil
	}
	return pcm
}

// uploadReader returns the recording's bytes: the "file" part of a
// multipart form, or the body itself.
func uploadReader(r *http.Request) (io.Reader, string, error) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "multipart/") {
		if r.Body == nil {
			return nil, "", callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "The recording is empty", Type: "missing"})
		}
		return r.Body, "", nil
	}
	mr, err := r.MultipartReader()
	if err != nil || params["boundary"] == "" {
		return nil, "", callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Malformed multipart body", Type: "value_error"})
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "file"}, Msg: "Field required", Type: "missing"})
		}
		if err != nil {
			var big *http.MaxBytesError
			if errors.As(err, &big) {
				return nil, "", callscope.Errorf(callscope.ETOOLARGE, "Recording is larger than the upload limit")
			}
			return nil, "", callscope.ValidationError(callscope.FieldError{Loc: []string{"body"}, Msg: "Malformed multipart body: " + err.Error(), Type: "value_error"})
		}
		if part.FormName() == "file" {
			return part, part.FileName(), nil
		}
	}
}

func (s *Server) handleListRecordings(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Store.Call(r.Context(), tenantID(r), r.PathValue("call_id"))
	if err != nil {
		return err
	}
	recs, err := s.Store.Recordings(r.Context(), c.ID)
	if err != nil {
		return err
	}
	out := make([]recordingView, len(recs))
	for i, rec := range recs {
		out[i] = newRecordingView(c, rec)
	}
	writeJSON(w, http.StatusOK, map[string]any{"call_id": c.PublicID(), "recordings": out})
	return nil
}

// recordingOf finds a recording of a call of the caller's tenant.
func (s *Server) recordingOf(r *http.Request) (*callscope.Call, *callscope.Recording, error) {
	c, err := s.Store.Call(r.Context(), tenantID(r), r.PathValue("call_id"))
	if err != nil {
		return nil, nil, err
	}
	rec, err := s.Store.Recording(r.Context(), c.ID, r.PathValue("recording_id"))
	return c, rec, err
}

// handleRotateRecordingToken gives a recording a new access token; the old
// URL stops working at once.
func (s *Server) handleRotateRecordingToken(w http.ResponseWriter, r *http.Request) error {
	c, rec, err := s.recordingOf(r)
	if err != nil {
		return err
	}
	if err := s.Calls.SetRecordingToken(r.Context(), rec, voicebot.NewToken()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newRecordingView(c, rec))
	return nil
}

// handleRevokeRecordingToken removes a recording's access token: its URL
// answers 404 until a new token is issued.
func (s *Server) handleRevokeRecordingToken(w http.ResponseWriter, r *http.Request) error {
	c, rec, err := s.recordingOf(r)
	if err != nil {
		return err
	}
	if err := s.Calls.SetRecordingToken(r.Context(), rec, ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newRecordingView(c, rec))
	return nil
}

// handleRecordingByToken serves a recording by its access token, the
// stable URL CRMs and agents keep: the stored file with Range requests and
// an ETag, or — for a recording that lives at the platform's URL — a proxy
// of it. An unknown or revoked token is 404.
func (s *Server) handleRecordingByToken(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if len(token) > 128 {
		return callscope.Errorf(callscope.ENOTFOUND, "recording not found")
	}
	rec, err := s.Store.RecordingByToken(r.Context(), token)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if rec.StorageKey != "" && !strings.HasPrefix(rec.StorageKey, "remote:") && s.Recordings != nil {
		o, err := s.Recordings.Open(r.Context(), rec.StorageKey)
		if err != nil {
			return err
		}
		defer o.Close()
		w.Header().Set("Content-Type", rec.ContentType)
		w.Header().Set("ETag", fmt.Sprintf(`"%s-%d"`, rec.ID, o.Size()))
		http.ServeContent(w, r, "", o.ModTime(), o)
		return nil
	}
	if rec.SourceURL == "" {
		return callscope.Errorf(callscope.ENOTFOUND, "recording not found")
	}
	return s.proxyRecording(w, r, rec)
}

// proxyRecording streams a recording from its source URL, passing Range
// through, over the egress policy.
func (s *Server) proxyRecording(w http.ResponseWriter, r *http.Request, rec *callscope.Recording) error {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, rec.SourceURL, nil)
	if err != nil {
		return callscope.Errorf(callscope.ENOTFOUND, "recording not found")
	}
	for _, h := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	res, err := s.Egress.Client(5 * time.Minute).Do(req)
	if err != nil {
		s.Logger.WarnContext(r.Context(), "recording source unreachable", "recording_id", rec.ID, "error", err.Error())
		return callscope.Errorf(callscope.EUNAVAILABLE, "The recording's source could not be reached")
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		return callscope.Errorf(callscope.ENOTFOUND, "recording not found at its source")
	case res.StatusCode >= 400 && res.StatusCode != http.StatusRequestedRangeNotSatisfiable:
		return callscope.Errorf(callscope.EUNAVAILABLE, "The recording's source answered %d", res.StatusCode)
	}
	for _, h := range []string{"Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified"} {
		if v := res.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	ct := res.Header.Get("Content-Type")
	if rec.ContentType != "" && rec.ContentType != "application/octet-stream" {
		ct = rec.ContentType
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(res.StatusCode)
	io.Copy(w, res.Body)
	return nil
}
