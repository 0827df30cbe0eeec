package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/engines"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/secret"
	"github.com/callscope/callscope/internal/sqlstore"
)

const processSynopsis = `process [--format json|text] [--out DIR] [--taxonomy NAME|FILE] [--language CODE] FILE...

Runs the post-call pipeline (the same code as the server) on transcript
or audio files (wav, gsm, mp3; transcribed offline with pocketsphinx when it
is installed) and prints each call's export (the Call Sessions API's export) to stdout, or writes
one file per input into --out DIR. A transcript file is JSON (an array of
segments {speaker, start_time, end_time, text}, or an object with
"segments" or "transcript") or text, one turn per line:
    Agent: Good morning, how can I help?
    [00:05] Caller: My token did not arrive.
Nothing is stored: the work happens in a temporary database. Exits 1 if any
file failed.`

func cmdProcess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, file := newFlags("process", processSynopsis, stderr)
	format := fs.String("format", "text", "output `FORMAT`: json or text")
	outDir := fs.String("out", "", "write one export per input into `DIR` instead of stdout")
	taxonomy := fs.String("taxonomy", "", "classification `TAXONOMY`: helpline, contact_centre or a JSON file holding a taxonomy as the tenant setting takes it (default: helpline)")
	language := fs.String("language", "", "the calls' `LANGUAGE` (ISO 639-1, e.g. es); default: detected (English or Swahili)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != "json" && *format != "text" {
		fmt.Fprintf(stderr, "callscope process: --format must be json or text, not %q\n", *format)
		return errUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "callscope process: give at least one transcript FILE")
		return errUsage
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o750); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp(cfg.TempPath, "callscope-process-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// The store lives as long as the command: a key of its own will do.
	keys, err := secret.New(secret.GenerateKey())
	if err != nil {
		return err
	}
	st, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: tmp, Secrets: keys})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	tenant := &callscope.Tenant{Name: callscope.DefaultTenantName}
	if *taxonomy != "" {
		tax, err := taxonomyFlag(*taxonomy)
		if err != nil {
			fmt.Fprintf(stderr, "callscope process: --taxonomy: %s\n", err)
			return errUsage
		}
		tenant.Settings.Taxonomy = tax
	}
	if err := st.CreateTenant(ctx, tenant); err != nil {
		return err
	}
	speech, _, err := transcriber(cfg, egress.Policy{AllowPrivate: cfg.AllowPrivateURLs, Allow: cfg.AllowedNetworks})
	if err != nil {
		return err
	}
	recordings := blob.Dir{Root: filepath.Join(tmp, "recordings")}
	engineCfg := engines.Config{}
	engineCfg.Translator, engineCfg.TranslatorDetail = offlineTranslator(ctx)
	provider, err := engines.New(engineCfg)
	if err != nil {
		return err
	}
	runner := &pipeline.Runner{Store: st, Engines: provider.For, Switches: withDefaults(cfg.Enable),
		Recordings: recordings, Speech: speech}
	// Exports come from the server's own handler, so the CLI and the API
	// print the same thing.
	srv := &cshttp.Server{Store: st, Calls: &call.Service{Store: st}, TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if err := srv.Init(); err != nil {
		return err
	}
	bar := newFileProgress(stderr, fs.Args())
	if runner.Speech != nil {
		runner.Speech = stagedSpeech{next: runner.Speech, p: bar}
	}
	failed := 0
	for i, path := range fs.Args() {
		bar.start(i, path)
		out, err := processFile(ctx, st, runner, srv, tenant, path, *format, *language, recordings)
		if err == nil {
			err = writeOutput(stdout, *outDir, path, *format, out, i)
		}
		if err != nil {
			failed++
		}
		bar.fileDone(i, path, err)
	}
	bar.finish(fs.NArg()-failed, failed)
	if failed > 0 {
		return errors.New(strconv.Itoa(failed) + " of " + strconv.Itoa(fs.NArg()) + " files failed")
	}
	return nil
}

func withDefaults(enable map[string]bool) map[string]bool {
	if enable == nil {
		return config.Switches
	}
	return enable
}

func processFile(ctx context.Context, st *sqlstore.Store, runner *pipeline.Runner, srv *cshttp.Server,
	tenant *callscope.Tenant, path, format, language string, recordings blob.Store) ([]byte, error) {
	if isAudio(path) {
		return processAudio(ctx, st, runner, srv, tenant, path, format, recordings)
	}
	segs, err := readTranscript(path)
	if err != nil {
		return nil, err
	}
	now := callscope.Timestamp(time.Now())
	c := &callscope.Call{TenantID: tenant.ID, Status: callscope.CallCompleted, StartedAt: &now, EndedAt: &now, Language: language,
		ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtFile, Value: "file-" + callscope.NewID()}}}
	if n := len(segs); n > 0 {
		c.DurationSeconds = segs[n-1].EndTime
	}
	if err := st.CreateCall(ctx, c); err != nil {
		return nil, err
	}
	if err := st.PutSegments(ctx, c.ID, segs); err != nil {
		return nil, err
	}
	return runAndExport(ctx, runner, srv, tenant, c, path, format)
}

func isAudio(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".wav", ".gsm", ".mp3", ".ulaw", ".ul", ".alaw", ".al", ".sln", ".sln16":
		return true
	}
	return false
}

// processAudio stores an audio file as the recording of a new call, for the
// pipeline's decode and transcribe stages.
func processAudio(ctx context.Context, st *sqlstore.Store, runner *pipeline.Runner, srv *cshttp.Server,
	tenant *callscope.Tenant, path, format string, recordings blob.Store) ([]byte, error) {
	if runner.Speech == nil {
		return nil, errors.New("audio files need a transcription engine: install pocketsphinx (apt-get install pocketsphinx pocketsphinx-en-us) or set CALLSCOPE_STT_ENGINE")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	now := callscope.Timestamp(time.Now())
	c := &callscope.Call{TenantID: tenant.ID, Status: callscope.CallCompleted, StartedAt: &now, EndedAt: &now,
		ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtFile, Value: "file-" + callscope.NewID()}}}
	if err := st.CreateCall(ctx, c); err != nil {
		return nil, err
	}
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	key := tenant.ID + "/" + c.ID + "/recording." + ext
	n, err := recordings.Put(ctx, key, f)
	if err != nil {
		return nil, err
	}
	if err := st.CreateRecording(ctx, &callscope.Recording{TenantID: tenant.ID, CallID: c.ID, Format: ext, StorageKey: key, SizeBytes: n, Channels: 1}); err != nil {
		return nil, err
	}
	return runAndExport(ctx, runner, srv, tenant, c, path, format)
}

// runAndExport processes a stored call and returns its export.
func runAndExport(ctx context.Context, runner *pipeline.Runner, srv *cshttp.Server, tenant *callscope.Tenant,
	c *callscope.Call, path, format string) ([]byte, error) {
	if err := runner.Run(ctx, tenant.ID, c.ID); err != nil {
		return nil, fmt.Errorf("processing: %w", err)
	}
	req := httptest.NewRequest("GET", "/api/v1/calls/"+c.ID+"/export?format="+format, nil)
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		return nil, fmt.Errorf("export: %d %s", rec.Code, rec.Body)
	}
	out := rec.Body.Bytes()
	// The temporary call id means nothing outside this run: name the file.
	return []byte(strings.ReplaceAll(string(out), c.ExternalIDs[0].Value, filepath.Base(path))), nil
}

func writeOutput(stdout io.Writer, dir, path, format string, out []byte, i int) error {
	if dir == "" {
		if i > 0 && format == "text" {
			fmt.Fprintln(stdout)
		}
		_, err := stdout.Write(out)
		return err
	}
	ext := ".txt"
	if format == "json" {
		ext = ".json"
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + ext
	return os.WriteFile(filepath.Join(dir, name), out, 0o644)
}

// readTranscript reads a JSON or text transcript file into segments.
func readTranscript(path string) ([]callscope.Segment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		return jsonTranscript(b)
	}
	return textTranscript(b)
}

type fileSegment struct {
	SegmentID  *int     `json:"segment_id"`
	Speaker    string   `json:"speaker"`
	Role       string   `json:"role"`
	StartTime  *float64 `json:"start_time"`
	EndTime    *float64 `json:"end_time"`
	Text       string   `json:"text"`
	Content    string   `json:"content"`
	Confidence float64  `json:"confidence"`
}

func jsonTranscript(b []byte) ([]callscope.Segment, error) {
	var list []fileSegment
	if err := json.Unmarshal(b, &list); err != nil {
		var obj struct {
			Segments   []fileSegment `json:"segments"`
			Transcript []fileSegment `json:"transcript"`
		}
		if err2 := json.Unmarshal(b, &obj); err2 != nil {
			return nil, fmt.Errorf("not a transcript: %v", err)
		}
		list = append(obj.Segments, obj.Transcript...)
	}
	if len(list) == 0 {
		return nil, errors.New("the transcript has no segments")
	}
	var out []callscope.Segment
	clock := 0.0
	for i, fsg := range list {
		text := strings.TrimSpace(fsg.Text + fsg.Content)
		if text == "" {
			return nil, fmt.Errorf("segment %d has no text", i+1)
		}
		s := callscope.Segment{SegmentID: i + 1, Speaker: fsg.Speaker + fsg.Role, Text: text, Confidence: fsg.Confidence}
		if fsg.SegmentID != nil {
			s.SegmentID = *fsg.SegmentID
		}
		if fsg.StartTime != nil {
			s.StartTime = *fsg.StartTime
		} else {
			s.StartTime = clock
		}
		if fsg.EndTime != nil {
			s.EndTime = *fsg.EndTime
		} else {
			s.EndTime = s.StartTime + speakingTime(text)
		}
		if s.StartTime < 0 || s.EndTime < s.StartTime {
			return nil, fmt.Errorf("segment %d: times must satisfy 0 ≤ start_time ≤ end_time", i+1)
		}
		clock = s.EndTime + 0.3
		out = append(out, s)
	}
	return out, nil
}

// speakingTime estimates how long a text takes to say (2.5 words a second).
func speakingTime(text string) float64 { return float64(len(strings.Fields(text)))/2.5 + 0.2 }

var turnLine = regexp.MustCompile(`^(?:\[(\d{1,2}):(\d{2})(?::(\d{2}))?\]\s*)?([^:\[\]]{1,40}):\s*(.+)$`)

func textTranscript(b []byte) ([]callscope.Segment, error) {
	var out []callscope.Segment
	clock := 0.0
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := turnLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d: want \"Speaker: text\", got %q", n, truncate(line, 60))
		}
		start := clock
		if m[1] != "" {
			a, _ := strconv.Atoi(m[1])
			bb, _ := strconv.Atoi(m[2])
			start = float64(a*60 + bb)
			if m[3] != "" {
				c, _ := strconv.Atoi(m[3])
				start = float64(a*3600 + bb*60 + c)
			}
		}
		s := callscope.Segment{SegmentID: len(out) + 1, Speaker: strings.ToLower(strings.TrimSpace(m[4])), StartTime: start,
			Text: strings.TrimSpace(m[5])}
		s.EndTime = s.StartTime + speakingTime(s.Text)
		clock = s.EndTime + 0.3
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("the transcript has no turns")
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// fileProgress shows how far process has come: the stage of the current
// file, the share of all the work done and the time left, on a terminal as
// a redrawn bar, otherwise as a line per file. Work is counted in bytes of
// input (at least 64 KiB a file, so transcripts count too); within a file,
// transcription is expected to take as long per byte as it did so far.
type fileProgress struct {
	m       *meter
	sizes   []float64
	total   float64
	done    float64 // weight of the files finished
	begin   time.Time
	perByte float64 // seconds of transcription per byte so far, 0 before any

	mu       sync.Mutex
	i        int
	name     string
	speechAt time.Time // when the current file's transcription started
	stop     chan struct{}
}

func newFileProgress(w io.Writer, paths []string) *fileProgress {
	p := &fileProgress{m: newMeter(w, 500*time.Millisecond), begin: time.Now()}
	for _, path := range paths {
		size := float64(64 << 10)
		if fi, err := os.Stat(path); err == nil {
			size = max(size, float64(fi.Size()))
		}
		p.sizes = append(p.sizes, size)
		p.total += size
	}
	return p
}

// stage says what happens to file i now; within is the share of the
// file's work done.
func (p *fileProgress) stage(stage string, within float64) {
	p.m.set(stage, fmt.Sprintf("%s (%d/%d)", p.name, p.i+1, len(p.sizes)), (p.done+within*p.sizes[p.i])/p.total)
}

func (p *fileProgress) start(i int, path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.i, p.name = i, filepath.Base(path)
	p.stage("reading", 0)
}

// transcribing marks the start of the current file's transcription, and
// moves the bar on while it runs.
func (p *fileProgress) transcribing() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.speechAt = time.Now()
	p.stage("transcribing", 0.05)
	if !p.m.tty {
		return
	}
	p.stop = make(chan struct{})
	go func(stop chan struct{}) {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.stage("transcribing", p.transcribed())
				p.mu.Unlock()
			}
		}
	}(p.stop)
}

// transcribed is the share of the current file done while it is being
// transcribed: 5 % to 85 %, by the time taken per byte on earlier files
// (or half a second per second of 8 kHz audio before there are any).
func (p *fileProgress) transcribed() float64 {
	perByte := p.perByte
	if perByte == 0 {
		perByte = 0.5 / 16000
	}
	expect := perByte * p.sizes[p.i]
	return 0.05 + 0.8*min(time.Since(p.speechAt).Seconds()/max(expect, 1e-3), 0.99)
}

// analysing marks the end of the current file's transcription.
func (p *fileProgress) analysing() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	took := time.Since(p.speechAt).Seconds()
	if p.perByte == 0 {
		p.perByte = took / p.sizes[p.i]
	} else {
		p.perByte = 0.5*p.perByte + 0.5*took/p.sizes[p.i]
	}
	p.stage("analysing", 0.85)
}

func (p *fileProgress) fileDone(i int, path string, err error) {
	p.mu.Lock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.done += p.sizes[i]
	p.m.set("", "", p.done/p.total)
	p.mu.Unlock()
	switch {
	case err != nil:
		p.m.println("%s: error: %v", path, err)
	case !p.m.tty:
		line := fmt.Sprintf("%s: ok (%d/%d)", path, i+1, len(p.sizes))
		if left := p.m.leftText(); left != "" && i+1 < len(p.sizes) {
			line = fmt.Sprintf("%s: ok (%d/%d, %s)", path, i+1, len(p.sizes), left)
		}
		p.m.println("%s", line)
	}
}

func (p *fileProgress) finish(ok, failed int) {
	p.m.close()
	fmt.Fprintf(p.m.w, "%d processed, %d failed in %s\n", ok, failed, time.Since(p.begin).Round(time.Millisecond))
}

// stagedSpeech tells the progress when transcription starts and ends.
type stagedSpeech struct {
	next pipeline.SpeechTranscriber
	p    *fileProgress
}

func (s stagedSpeech) Transcribe(ctx context.Context, pcm *audio.PCM, m audio.ChannelMap, language string) ([]callscope.Segment, string, pipeline.Usage, error) {
	s.p.transcribing()
	defer s.p.analysing()
	return s.next.Transcribe(ctx, pcm, m, language)
}

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, _ := newFlags("eval", `eval DIR

Scores the built-in analyzers on a directory of labelled calls (the format
of internal/nlp/testdata/eval: one JSON file per call with segments and
labels) and prints precision, recall and F1 per entity type, category and
risk accuracy, to-do recall and PII recall.`, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "callscope eval: give one DIR of labelled calls")
		return errUsage
	}
	rep, err := nlp.EvaluateDir(fs.Arg(0))
	if err != nil {
		return err
	}
	return rep.WriteTable(stdout)
}

// taxonomyFlag reads --taxonomy: a built-in name, or a file holding a
// taxonomy, checked as the tenant setting is.
func taxonomyFlag(v string) (*callscope.TaxonomySetting, error) {
	if nlp.DefaultTaxonomy(v) != nil {
		return &callscope.TaxonomySetting{Builtin: v}, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("%q is neither helpline, contact_centre nor a readable file: %v", v, err)
	}
	var tax callscope.TaxonomySetting
	if err := callscope.DecodeStrict(b, &tax, "taxonomy"); err != nil {
		return nil, fmt.Errorf("%s: %s", v, problems(err))
	}
	set := callscope.Settings{Taxonomy: &tax}
	if f := set.Validate(); len(f) > 0 {
		return nil, fmt.Errorf("%s: %s", v, problems(callscope.ValidationError(f...)))
	}
	return &tax, nil
}

// problems words a validation error's field problems on one line.
func problems(err error) string {
	var e *callscope.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return callscope.ErrorMessage(err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, strings.Join(f.Loc, ".")+": "+f.Msg)
	}
	return strings.Join(out, "; ")
}
