package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/audiosocket"
	"github.com/callscope/callscope/internal/stream/openchs"
)

// TestReplicaEndsAnotherReplicasStream runs two `callscope serve`
// processes on one PostgreSQL. Replica A holds an AudioSocket call; POST
// /end on replica B closes A's stream within A's flush interval, the call
// ends with the recording A attaches, its processing is requested once
// (by A, after the recording), and B's event stream carries what A wrote.
func TestReplicaEndsAnotherReplicasStream(t *testing.T) {
	url := os.Getenv("CALLSCOPE_TEST_DATABASE_URL")
	if url == "" {
		t.Skip("CALLSCOPE_TEST_DATABASE_URL is not set: replicas need PostgreSQL")
	}
	db := postgresSchema(t, url)
	asAddr := freeAddr(t)
	common := append([]string{"CALLSCOPE_STT_ENGINE=none", "CALLSCOPE_TRUSTED_NETWORKS=127.0.0.1/32",
		"CALLSCOPE_SHUTDOWN_DELAY=0s", "CALLSCOPE_SECRET_KEY=" + strings.Repeat("cd", 32)}, db...)
	a := startServer(t, t.TempDir(), append(common, "CALLSCOPE_AUDIOSOCKET_ADDR="+asAddr)...)
	b := startServer(t, t.TempDir(), common...)
	fa, fb := &liveFixture{base: "http://" + a.addr}, &liveFixture{base: "http://" + b.addr}

	id := uuid.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	played := make(chan stream.PlayResult, 1)
	go func() {
		res, _ := audiosocket.Player{Addr: asAddr, Speed: 1}.Play(ctx, id, tone(8000, 60*time.Second))
		played <- res
	}()
	// B sees the call A holds, as active.
	fb.waitActive(t, id.String())
	events := readSSE(t, fb.base+"/api/v1/calls/"+id.String()+"/events", a.adminKey)
	time.Sleep(2 * time.Second)

	ended := time.Now()
	req, _ := http.NewRequest("POST", fb.base+"/api/v1/calls/"+id.String()+"/end", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST /end on B: %d", res.StatusCode)
	}
	var sent stream.PlayResult
	select {
	case sent = <-played:
	case <-time.After(15 * time.Second):
		t.Fatal("A did not close the stream after the call was ended on B")
	}
	closedIn := time.Since(ended)
	if closedIn > 6*time.Second {
		t.Errorf("A closed the stream %v after the end on B", closedIn)
	}

	// A attaches the recording and only then requests the processing.
	var c endedCall
	var recs struct {
		Recordings []struct {
			DurationSeconds float64 `json:"duration_seconds"`
		} `json:"recordings"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		fb.get(t, "/api/v1/calls/"+id.String(), &c)
		fb.get(t, "/api/v1/calls/"+id.String()+"/recordings", &recs)
		if c.ProcessingStatus != "" && len(recs.Recordings) == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if c.Status != "completed" || c.Metadata["end_reason"] != "manual" {
		t.Fatalf("call after the end on B: %+v", c)
	}
	if len(recs.Recordings) != 1 || c.ProcessingStatus == "" {
		t.Fatalf("recordings %+v, processing %q: A did not finish the call", recs.Recordings, c.ProcessingStatus)
	}
	got := recs.Recordings[0].DurationSeconds
	if want := float64(sent.Frames) * 0.02; got < want-0.5 || got > want+0.1 {
		t.Errorf("recording of %.2f s; A received %.2f s", got, want)
	}
	// The call was processed once: one processing.* history on either
	// replica, the same answer from both.
	// The processing may move on between the two reads: read again until
	// the replicas are seen to agree.
	var pa, pb map[string]any
	for wait := time.Now().Add(10 * time.Second); ; {
		pa, pb = nil, nil
		fa.get(t, "/api/v1/calls/"+id.String()+"/processing", &pa)
		fb.get(t, "/api/v1/calls/"+id.String()+"/processing", &pb)
		if pa["processing_status"] == pb["processing_status"] || time.Now().After(wait) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pa["processing_status"] != pb["processing_status"] || pa["processing_status"] == nil {
		t.Errorf("processing seen from A %v, from B %v", pa["processing_status"], pb["processing_status"])
	}
	// B's event stream carried what A wrote: the call's creation and end.
	for wait := time.Now().Add(5 * time.Second); time.Now().Before(wait) && events.first("recording.ready", id.String()) < 0; {
		time.Sleep(100 * time.Millisecond)
	}
	for _, typ := range []string{"call.created", "call.completed", "recording.ready"} {
		if events.first(typ, id.String()) < 0 {
			t.Errorf("B's event stream has no %s", typ)
		}
	}
	if events.first("recording.ready", id.String()) < events.first("call.completed", id.String()) {
		t.Log("recording.ready came before call.completed: A attached the recording before ending the call")
	}
	t.Logf("stream held by A closed %v after POST /end on B; recording %.2f s of %.2f s sent; processing %v",
		closedIn.Round(time.Millisecond), got, float64(sent.Frames)*0.02, pa["processing_status"])
}

// TestServeRecoversTwentyLiveCallsAfterACrash kills the server (SIGKILL)
// while 20 live calls stream in (AudioSocket and OpenCHS), then starts it
// again: every call is ended (interrupted), keeps its recording up to the
// last flush before the crash, and is processed exactly once.
func TestServeRecoversTwentyLiveCallsAfterACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 20 calls in real time")
	}
	dbs := map[string][]string{"sqlite": nil}
	if url := os.Getenv("CALLSCOPE_TEST_DATABASE_URL"); url != "" {
		dbs["postgres"] = append(postgresSchema(t, url), "CALLSCOPE_SECRET_KEY="+strings.Repeat("ef", 32))
	}
	for name, dbEnv := range dbs {
		t.Run(name, func(t *testing.T) { recoverTwentyCalls(t, dbEnv) })
	}
}

func recoverTwentyCalls(t *testing.T, dbEnv []string) {
	asAddr, chsAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	env := append([]string{"CALLSCOPE_AUDIOSOCKET_ADDR=" + asAddr, "CALLSCOPE_OPENCHS_ADDR=" + chsAddr,
		"CALLSCOPE_TRUSTED_NETWORKS=127.0.0.1/32", "CALLSCOPE_STT_ENGINE=none"}, dbEnv...)
	srv := startServer(t, dir, env...)
	f := &liveFixture{base: "http://" + srv.addr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type played struct {
		id  string
		res stream.PlayResult
	}
	results := make(chan played, 20)
	var ids []string
	for i := range 20 {
		if i%2 == 0 {
			id := uuid.New()
			ids = append(ids, id.String())
			go func() {
				res, _ := audiosocket.Player{Addr: asAddr, Speed: 1}.Play(ctx, id, tone(8000, 60*time.Second))
				results <- played{id.String(), res}
			}()
		} else {
			id := "1761295415." + strings.Repeat("9", 3) + string(rune('0'+i/2))
			ids = append(ids, id)
			go func() {
				res, _ := openchs.Player{Addr: chsAddr, Speed: 1}.Play(ctx, id, tone(16000, 60*time.Second))
				results <- played{id, res}
			}()
		}
	}
	for _, id := range ids {
		f.waitActive(t, id)
	}
	time.Sleep(3 * time.Second)
	srv.cmd.Process.Kill()
	<-srv.exited
	sent := map[string]time.Duration{}
	for range 20 {
		p := <-results
		sent[p.id] = p.res.Audio
	}

	srv = startServer(t, dir, env...)
	f.base = "http://" + srv.addr
	for _, id := range ids {
		var c endedCall
		if f.get(t, "/api/v1/calls/"+id, &c) != 200 {
			t.Fatalf("call %s not found after restart", id)
		}
		if c.Status != "completed" || c.Metadata["end_reason"] != "interrupted" {
			t.Errorf("call %s after the crash: %+v", id, c)
		}
		var recs struct {
			Recordings []struct {
				DurationSeconds float64 `json:"duration_seconds"`
			} `json:"recordings"`
		}
		f.get(t, "/api/v1/calls/"+id+"/recordings", &recs)
		if len(recs.Recordings) != 1 {
			t.Errorf("call %s: %d recordings after the crash", id, len(recs.Recordings))
			continue
		}
		got := time.Duration(recs.Recordings[0].DurationSeconds * float64(time.Second))
		if got <= 0 || got > sent[id]+20*time.Millisecond || sent[id]-got > 2500*time.Millisecond {
			t.Errorf("call %s: recording of %v, %v sent before the crash", id, got, sent[id])
		}
	}
	// Each call's processing runs once to its end.
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range ids {
		var p struct {
			ProcessingStatus string `json:"processing_status"`
			Attempts         int    `json:"attempts"`
		}
		for {
			f.get(t, "/api/v1/calls/"+id+"/processing", &p)
			if p.ProcessingStatus == "completed" || p.ProcessingStatus == "failed" || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if p.ProcessingStatus != "completed" && p.ProcessingStatus != "failed" || p.Attempts != 1 {
			t.Errorf("call %s: processing %q after %d attempts, want one run to its end", id, p.ProcessingStatus, p.Attempts)
		}
	}
}
