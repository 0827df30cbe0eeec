package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/voicebot"
)

// AudioSource downloads a call's recording from where it lives: a URL the
// call came with, the PBX (SFTP/SCP), or S3. rec is the call's remote
// recording if it has one, else nil.
type AudioSource interface {
	Fetch(ctx context.Context, c *callscope.Call, rec *callscope.Recording) (io.ReadCloser, string, error)
}

// SpeechTranscriber turns a call's decoded recording into speaker-labelled
// segments, sending only voiced audio to its engine.
type SpeechTranscriber interface {
	Transcribe(ctx context.Context, pcm *audio.PCM, speakers audio.ChannelMap, language string) ([]callscope.Segment, string, Usage, error)
}

// storedRecording returns the call's recording kept in the recording store
// (not only at a remote source), or nil.
func (ru *run) storedRecording(ctx context.Context) (*callscope.Recording, *callscope.Recording, error) {
	recs, err := ru.r.Store.Recordings(ctx, ru.call.ID)
	if err != nil {
		return nil, nil, err
	}
	var local, remote *callscope.Recording
	for _, rec := range recs {
		if rec.StorageKey != "" && !strings.HasPrefix(rec.StorageKey, "remote:") {
			if local == nil {
				local = rec
			}
		} else if remote == nil {
			remote = rec
		}
	}
	return local, remote, nil
}

var codecTypes = map[audio.Codec][2]string{
	audio.CodecWAV: {"wav", "audio/wav"}, audio.CodecMP3: {"mp3", "audio/mpeg"}, audio.CodecGSM: {"gsm", "audio/x-gsm"},
	audio.CodecSlin: {"sln", "audio/L16"}, audio.CodecULaw: {"ulaw", "audio/basic"}, audio.CodecALaw: {"alaw", "audio/x-alaw-basic"},
}

// fetchAudio makes sure the call's recording is in the recording store.
func (ru *run) fetchAudio(ctx context.Context) (outcome, error) {
	r := ru.r
	local, remote, err := ru.storedRecording(ctx)
	if err != nil {
		return outcome{}, err
	}
	if local != nil {
		return skip("the recording is stored already")
	}
	if r.Audio == nil || r.Recordings == nil {
		return skip("not configured: no recording and no download method (AUDIO_DOWNLOAD_METHOD)")
	}
	body, name, err := r.Audio.Fetch(ctx, ru.call, remote)
	if err != nil {
		return outcome{}, err
	}
	defer body.Close()
	br := bufio.NewReaderSize(body, 64<<10)
	head, _ := br.Peek(64 << 10)
	codec := audio.Detect(head, audio.FormatFromName(name))
	types, ok := codecTypes[codec]
	if !ok {
		return outcome{}, fmt.Errorf("%w: the downloaded recording %q is not audio callscope can decode", ErrPermanent, name)
	}
	key := ru.call.TenantID + "/" + ru.call.ID + "/" + callscope.NewID() + "." + types[0]
	size, err := r.Recordings.Put(ctx, key, br)
	if err != nil {
		return outcome{}, err
	}
	rec := remote
	if rec == nil {
		rec = &callscope.Recording{TenantID: ru.call.TenantID, CallID: ru.call.ID, Channels: 1, AccessToken: voicebot.NewToken()}
	}
	rec.StorageKey, rec.SizeBytes, rec.Format, rec.ContentType = key, size, types[0], types[1]
	if rec.ID == "" {
		err = r.Store.CreateRecording(ctx, rec)
	} else {
		err = r.Store.UpdateRecording(ctx, rec)
	}
	if err != nil {
		r.Recordings.Delete(context.WithoutCancel(ctx), key)
		return outcome{}, err
	}
	return outcome{results: map[string]any{}}, nil
}

// decodeAudio decodes the stored recording, for the transcriber.
func (ru *run) decodeAudio(ctx context.Context) (outcome, error) {
	local, _, err := ru.storedRecording(ctx)
	if err != nil {
		return outcome{}, err
	}
	if local == nil || ru.r.Recordings == nil {
		return skip("no stored recording")
	}
	o, err := ru.r.Recordings.Open(ctx, local.StorageKey)
	if err != nil {
		return outcome{}, err
	}
	defer o.Close()
	pcm, err := audio.Decode(o, audio.FormatFromName("x."+local.Format))
	if err != nil {
		return outcome{}, fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	ru.pcm = pcm
	secs := pcm.Duration().Seconds()
	if local.DurationSeconds != secs || local.Channels != len(pcm.Channels) {
		local.DurationSeconds, local.Channels = secs, len(pcm.Channels)
		if err := ru.r.Store.UpdateRecording(ctx, local); err != nil {
			return outcome{}, err
		}
	}
	return outcome{results: map[string]any{}, usage: Usage{AudioSeconds: secs}}, nil
}

// channelMap is the tenant's speaker for each channel of the recording.
func (ru *run) channelMap(channels int) audio.ChannelMap {
	if channels <= 1 {
		return audio.MonoMixed
	}
	if v := ru.tenant.Settings.RecordingChannels; len(v) > 0 {
		return append(audio.ChannelMap{}, v...)
	}
	return audio.ChannelMap{audio.SpeakerCaller, audio.SpeakerAgent}
}

// transcribe turns the recording into the call's transcript.
func (ru *run) transcribe(ctx context.Context) (outcome, error) {
	if ru.r.Speech == nil {
		return skip("not configured: no transcription engine")
	}
	if ru.pcm == nil { // resumed after decode_audio finished
		if out, err := ru.decodeAudio(ctx); err != nil || out.skipped != "" {
			if err != nil {
				return outcome{}, err
			}
			return skip("no stored recording")
		}
	}
	segs, lang, usage, err := ru.r.Speech.Transcribe(ctx, ru.pcm, ru.channelMap(len(ru.pcm.Channels)), ru.in.Language)
	if err != nil {
		return outcome{}, err
	}
	if segs == nil {
		segs = []callscope.Segment{}
	}
	ru.in.Segments = segs
	results := map[string]any{"audio_seconds": ru.pcm.Duration().Seconds()}
	if lang != "" {
		ru.in.Language, ru.call.Language = lang, lang
		results["language"] = lang
	}
	return outcome{results: results, segments: segs, usage: usage}, nil
}
