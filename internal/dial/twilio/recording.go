package twilio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/fetch"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/voicebot"
)

// RecordingArgs is the job that downloads a call's recording from Twilio,
// queued by the recording status callback.
type RecordingArgs struct {
	TenantID string `json:"tenant_id"`
	CallID   string `json:"call_id"`
	// RecordingSID and RecordingURL are the callback's; the media is at
	// RecordingURL + ".mp3".
	RecordingSID string  `json:"recording_sid"`
	RecordingURL string  `json:"recording_url"`
	Channels     int     `json:"channels"`
	Duration     float64 `json:"duration"`
}

// Kind implements river.JobArgs.
func (RecordingArgs) Kind() string { return "twilio.recording" }

// RecordingAttempts is how often a recording download is tried: Twilio
// answers 404 for a recording still being processed, for a few seconds to
// a few minutes after the call.
const RecordingAttempts = 12

// InsertOpts implements river.JobArgsWithInsertOpts: one job per
// recording.
func (RecordingArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: RecordingAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Recordings queues recording downloads.
type Recordings struct {
	Store *sqlstore.Store
	Queue *job.Queue
}

// Download queues the download of a recording in its own transaction.
func (r *Recordings) Download(ctx context.Context, a RecordingArgs) error {
	return r.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		r.Queue.Enqueue(tx, a, nil)
		return nil
	})
}

// RecordingWorker downloads Twilio recordings with the tenant's account
// credentials, stores them in the recording store and attaches them to
// their calls (recording.ready); the call's processing is then queued if
// it waited for the recording. A 404 (the recording is not ready yet) is
// retried with backoff, up to RecordingAttempts; other refusals are final.
type RecordingWorker struct {
	river.WorkerDefaults[RecordingArgs]
	Calls      *call.Service
	Recordings blob.Store
	// Egress is the address policy of the download.
	Egress egress.Policy
	// API says which host gets the account's credentials.
	API API
	// DownloadTimeout bounds one download (default 2 minutes); MaxBytes refuses
	// longer recordings (0: no limit).
	DownloadTimeout time.Duration
	MaxBytes        int64
	// Backoff is the wait before attempt n+1 (default 2 s doubling, at most
	// 5 min).
	Backoff func(attempt int) time.Duration
	Logger  *slog.Logger
}

// NextRetry implements river.Worker.
func (w *RecordingWorker) NextRetry(j *river.Job[RecordingArgs]) time.Time {
	if w.Backoff != nil {
		return time.Now().Add(w.Backoff(j.Attempt))
	}
	d := 2 * time.Second << min(j.Attempt, 10)
	return time.Now().Add(min(d, 5*time.Minute))
}

// Work implements river.Worker.
func (w *RecordingWorker) Work(ctx context.Context, j *river.Job[RecordingArgs]) error {
	a := j.Args
	c, err := w.Calls.Store.Call(ctx, a.TenantID, a.CallID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil // erased meanwhile
	} else if err != nil {
		return err
	}
	recs, err := w.Calls.Store.Recordings(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.SourceURL == a.RecordingURL {
			_, err := w.Calls.RecordingSettled(ctx, c.TenantID, c.ID)
			return err // attached by an earlier run
		}
	}
	tn, err := w.Calls.Store.Tenant(ctx, a.TenantID)
	if err != nil {
		return err
	}
	user, pass, _ := tn.Settings.Twilio.RESTCredentials()
	timeout := w.DownloadTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	src := &fetch.HTTP{Client: w.Egress.Client(timeout), Timeout: timeout, MaxBytes: w.MaxBytes,
		Username: user, Password: pass, AuthHosts: []string{w.API.Host()}}
	// The MP3 is what seed 003 serves; when it is one the decoder cannot
	// transcribe (MPEG 2.5, Twilio's 8 kHz), the WAV of the same recording
	// is kept instead.
	format := "mp3"
	data, info, err := fetchAll(ctx, src, c.ID, a.RecordingURL+".mp3")
	if err == nil && audio.CheckMP3(data) != nil {
		format = "wav"
		data, info, err = fetchAll(ctx, src, c.ID, a.RecordingURL+".wav")
	}
	if err == nil {
		return w.attach(ctx, c, a, format, data, info)
	}
	last := j.Attempt >= j.MaxAttempts
	switch {
	case callscope.ErrorCode(err) == callscope.ENOTFOUND && !last:
		// Twilio is still processing the recording.
		return fmt.Errorf("recording %s not ready yet: %w", a.RecordingSID, err)
	case !last:
		if ok, _ := pipeline.IsRetryable(err); ok {
			return err
		}
	}
	w.log().Warn("twilio recording not downloaded; processing the call without it", "call_id", c.ID,
		"recording_sid", a.RecordingSID, "attempt", j.Attempt, "err", err)
	if _, err := w.Calls.RecordingSettled(ctx, c.TenantID, c.ID); err != nil {
		return err
	}
	return nil
}

// fetchAll downloads url whole.
func fetchAll(ctx context.Context, src *fetch.HTTP, callID, url string) ([]byte, fetch.Info, error) {
	body, info, err := src.Fetch(ctx, fetch.Ref{CallID: callID, URL: url})
	if err != nil {
		return nil, info, err
	}
	defer body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, body); err != nil {
		return nil, info, err
	}
	return buf.Bytes(), info, nil
}

func (w *RecordingWorker) attach(ctx context.Context, c *callscope.Call, a RecordingArgs, format string, data []byte, info fetch.Info) error {
	ct := info.ContentType
	if ct == "" || !strings.HasPrefix(ct, "audio/") {
		ct = map[string]string{"mp3": "audio/mpeg", "wav": "audio/wav"}[format]
	}
	key := c.TenantID + "/" + c.ID + "/" + callscope.NewID() + "." + format
	size, err := w.Recordings.Put(ctx, key, bytes.NewReader(data))
	if err != nil {
		return err
	}
	rec := &callscope.Recording{Format: format, ContentType: ct, Channels: max(1, a.Channels),
		DurationSeconds: a.Duration, SizeBytes: size, StorageKey: key, SourceURL: a.RecordingURL,
		AccessToken: voicebot.NewToken()}
	if err := w.Calls.AttachRecording(ctx, c, rec); err != nil {
		_ = w.Recordings.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	_, err = w.Calls.RecordingSettled(ctx, c.TenantID, c.ID)
	return err
}

func (w *RecordingWorker) log() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
