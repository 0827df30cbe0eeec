package engines

import (
	"context"
	"io"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/fetch"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/stt"
)

// Downloader fetches recordings for the pipeline from the configured
// sources (a URL the call came with, the PBX, S3).
type Downloader struct{ Source fetch.Source }

var _ pipeline.AudioSource = Downloader{}

// Fetch implements pipeline.AudioSource.
func (d Downloader) Fetch(ctx context.Context, c *callscope.Call, rec *callscope.Recording) (io.ReadCloser, string, error) {
	ref := fetch.Ref{CallID: c.ID, ExternalIDs: c.ExternalIDs}
	if rec != nil {
		ref.URL = rec.SourceURL
		ref.Key = strings.TrimPrefix(rec.StorageKey, "remote:")
	}
	body, info, err := d.Source.Fetch(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	return body, info.Name, nil
}

// Speech transcribes recordings for the pipeline through stt's path:
// per speaker, voiced regions only, merged by time.
type Speech struct{ Pipeline *stt.Pipeline }

var _ pipeline.SpeechTranscriber = Speech{}

// Transcribe implements pipeline.SpeechTranscriber.
func (s Speech) Transcribe(ctx context.Context, pcm *audio.PCM, speakers audio.ChannelMap, language string) ([]callscope.Segment, string, pipeline.Usage, error) {
	t, err := s.Pipeline.Run(ctx, pcm, speakers, language)
	if err != nil {
		return nil, "", pipeline.Usage{}, err
	}
	return t.Segments, t.Language, pipeline.Usage{AudioSeconds: t.AudioSeconds}, nil
}
