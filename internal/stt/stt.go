// Package stt turns a call's speech into timed, speaker-labelled text.
//
// A Transcriber takes one clip of one speaker's mono audio and returns timed
// segments. Three engines implement it: Debian's pocketsphinx, run offline
// as a child process (the default when it is installed); any server that
// speaks OpenAI's POST /v1/audio/transcriptions (OpenAI, vLLM, speaches,
// LocalAI); and whisper.cpp's whisper-server on /inference. Pipeline is the
// one path from a decoded recording to a transcript: it splits the call per
// speaker, finds the voiced regions, sends only those to the engine (so
// silence and line noise never reach a model that would invent text for
// them), maps the answers back to the call's timeline and merges the
// speakers by time. BenchManifest measures that same path against a corpus
// with reference transcripts.
package stt

import (
	"context"
	"fmt"
	"time"

	"github.com/callscope/callscope"
)

// SampleRate is the rate, in Hz, at which the pipeline hands audio to the
// engines: the rate every engine here works at.
const SampleRate = 16000

// Audio is one clip of one speaker's mono speech.
type Audio struct {
	// Samples are in [-1, 1], at SampleRate Hz.
	Samples    []float32
	SampleRate int
	// Language is a hint such as "en" or "sw-KE"; empty lets the engine
	// decide (or detect).
	Language string
}

// Duration is the clip's playing time.
func (a Audio) Duration() time.Duration {
	if a.SampleRate <= 0 {
		return 0
	}
	return time.Duration(int64(len(a.Samples)) * int64(time.Second) / int64(a.SampleRate))
}

// Seconds is the clip's playing time in seconds.
func (a Audio) Seconds() float64 {
	if a.SampleRate <= 0 {
		return 0
	}
	return float64(len(a.Samples)) / float64(a.SampleRate)
}

// Word is one recognised word, timed in seconds from the start of its clip.
type Word struct {
	Text       string
	Start, End float64
	// Confidence is in [0, 1]; 0 when the engine reports none.
	Confidence float64
}

// Segment is a stretch of recognised speech, timed in seconds from the
// start of its clip.
type Segment struct {
	Start, End float64
	Text       string
	// Confidence is in [0, 1]; 0 when the engine reports none.
	Confidence float64
	// Words are the segment's words when the engine times them.
	Words []Word
}

// Result is what an engine heard in one clip.
type Result struct {
	Segments []Segment
	// Language is the language the engine reports (an ISO-639-1 code when
	// it can be mapped), or "".
	Language string
	// EngineTime is the wall time the engine took: the HTTP round trip or
	// the recogniser process's run.
	EngineTime time.Duration
	// EngineCPU is the CPU time a local engine used; 0 for remote ones.
	EngineCPU time.Duration
}

// Transcriber turns one clip of speech into timed text.
type Transcriber interface {
	Transcribe(ctx context.Context, a Audio) (Result, error)
}

// BatchTranscriber is implemented by engines that do better with many clips
// at once than one at a time (pocketsphinx loads its model once per batch).
// The results are in the order of the clips.
type BatchTranscriber interface {
	Transcriber
	TranscribeBatch(ctx context.Context, clips []Audio) ([]Result, error)
}

// Description says which engine a Transcriber is, for /health/models.
type Description struct {
	Provider string // pocketsphinx, openai, whisper.cpp
	Model    string
	Endpoint string // a URL, or the recogniser's path
}

// Engine is a Transcriber that can describe itself and check that it works.
type Engine interface {
	Transcriber
	Describe() Description
	// Health returns nil when the engine is installed or reachable, and
	// an EUNAVAILABLE error saying why not otherwise.
	Health(ctx context.Context) error
}

// Error is a failed transcription: a callscope.RemoteError. Retryable
// errors (rate limits, server errors, connection errors, timeouts)
// implement pipeline.RetryableError; everything else is permanent. Errors
// unwrap to a *callscope.Error so callscope.ErrorCode reports EUNAVAILABLE,
// ERATELIMIT or EINVALID.
type Error = callscope.RemoteError

func retryable(code string, status int, after time.Duration, err error, format string, args ...any) *Error {
	return &Error{Op: "stt", StatusCode: status, Code: code, Message: fmt.Sprintf(format, args...), Err: err, Temporary: true, Wait: after}
}

func permanent(code string, status int, err error, format string, args ...any) *Error {
	return &Error{Op: "stt", StatusCode: status, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}
