package engines_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/engines"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
	"github.com/callscope/callscope/internal/stt"
)

// TestRecordingToAnalysis processes a call that has only a recording: the
// pipeline decodes it, transcribes it offline with pocketsphinx (voiced
// regions only) and analyses the transcript.
func TestRecordingToAnalysis(t *testing.T) {
	if !stt.PocketSphinxInstalled() {
		t.Skip("pocketsphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us)")
	}
	if _, err := exec.LookPath("flite"); err != nil {
		t.Skip("flite is not installed (apt-get install flite)")
	}
	dir := t.TempDir()
	wav := filepath.Join(dir, "call.wav")
	say := "hello my name is grace. please call me back tomorrow about the payment."
	if out, err := exec.Command("flite", "-voice", "slt", "-t", say, "-o", wav).CombinedOutput(); err != nil {
		t.Fatalf("flite: %v %s", err, out)
	}
	b, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := sqlstoretest.Open(t, sqlstore.SQLite)
	tn := sqlstoretest.MustTenant(t, s)
	c := &callscope.Call{TenantID: tn.ID}
	if err := s.CreateCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	store := blob.Dir{Root: filepath.Join(dir, "recordings")}
	key := tn.ID + "/" + c.ID + "/rec.wav"
	n, err := store.Put(ctx, key, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRecording(ctx, &callscope.Recording{TenantID: tn.ID, CallID: c.ID, Format: "wav", ContentType: "audio/wav",
		Channels: 1, SizeBytes: n, StorageKey: key}); err != nil {
		t.Fatal(err)
	}
	eng, err := stt.New(stt.Config{Engine: stt.ProviderPocketSphinx})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := engines.New(engines.Config{})
	r := &pipeline.Runner{Store: s, Engines: p.For, Switches: config.Switches, Recordings: store,
		Speech: engines.Speech{Pipeline: &stt.Pipeline{Engine: eng}}}
	runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := r.Run(runCtx, tn.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	segs, err := s.Segments(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, sg := range segs {
		text = append(text, sg.Text)
	}
	all := strings.Join(text, " ")
	if len(segs) == 0 || !strings.Contains(all, "call") || !strings.Contains(all, "tomorrow") {
		t.Fatalf("transcript = %q", all)
	}
	pr, _ := s.Processing(ctx, c.ID)
	stages := map[string]callscope.StageRun{}
	for _, st := range pr.Stages {
		stages[st.Stage] = st
	}
	if stages["decode_audio"].Status != "completed" || stages["transcribe"].Status != "completed" || stages["transcribe"].AudioSeconds < 3 {
		t.Fatalf("stages = %+v", pr.Stages)
	}
	got, _ := s.Call(ctx, tn.ID, c.ID)
	if got.AudioSeconds < 3 || got.Language == "" {
		t.Fatalf("call after transcription: audio %v language %q", got.AudioSeconds, got.Language)
	}
}
