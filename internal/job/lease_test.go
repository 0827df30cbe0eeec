package job_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// holdArgs is a job that runs until the test lets it go.
type holdArgs struct {
	Name string `json:"name"`
}

func (holdArgs) Kind() string { return "test.hold" }

// holdWorker reports each run of a holdArgs job and holds the ones named
// in hold until release is closed.
type holdWorker struct {
	river.WorkerDefaults[holdArgs]
	hold    map[string]bool
	release chan struct{}
	started chan string

	mu   sync.Mutex
	runs map[string]int
}

func (w *holdWorker) Work(ctx context.Context, j *river.Job[holdArgs]) error {
	w.mu.Lock()
	w.runs[j.Args.Name]++
	w.mu.Unlock()
	w.started <- j.Args.Name
	if !w.hold[j.Args.Name] {
		return nil
	}
	select {
	case <-w.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *holdWorker) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.runs[name]
}

// childEnv names the variable holding the store configuration of a queue
// process started by TestHelperQueueProcess.
const childEnv = "CALLSCOPE_JOB_TEST_CHILD_STORE"

// TestHelperQueueProcess is not a test: run by the tests below as a
// separate process, it works test.hold jobs on the store named in childEnv,
// holding every one forever and printing "working NAME" when it starts one,
// until it is killed.
func TestHelperQueueProcess(t *testing.T) {
	raw := os.Getenv(childEnv)
	if raw == "" {
		t.Skip("run by TestJobsOfADeadProcessAreTakenBack")
	}
	var cfg sqlstore.Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	w := &holdWorker{hold: map[string]bool{}, release: make(chan struct{}), started: make(chan string), runs: map[string]int{}}
	river.AddWorker(workers, w)
	q, err := job.New(s, workers, job.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for name := range w.started {
		fmt.Printf("working %s\n", name)
	}
}

// TestJobsOfADeadProcessAreTakenBack runs a job in another process and kills
// that process with SIGKILL: with the default settings, the job runs again
// here within seconds, while a job this live process is running meanwhile
// is left alone, run once, however long it takes.
func TestJobsOfADeadProcessAreTakenBack(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a lease to run out")
	}
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg, s := openShared(t, d)
			workers := river.NewWorkers()
			w := &holdWorker{hold: map[string]bool{"live": true}, release: make(chan struct{}), started: make(chan string, 10), runs: map[string]int{}}
			river.AddWorker(workers, w)
			q, err := job.New(s, workers, job.Config{PollInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			dead, err := q.Insert(ctx, holdArgs{Name: "dead"}, nil)
			if err != nil {
				t.Fatal(err)
			}

			// Another process takes the job, and dies holding it.
			killInOtherProcess(t, cfg, "dead")
			killed := time.Now()
			if st, attempt := jobState(t, s, dead.Job.ID); st != "running" || attempt != 1 {
				t.Fatalf("after the kill the job is %s, attempt %d; want running, 1", st, attempt)
			}

			// This process starts, and runs a long job of its own.
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() {
				close(w.release)
				q.Stop(ctx)
			}()
			live, err := q.Insert(ctx, holdArgs{Name: "live"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var liveStarted time.Time
			deadline := time.After(45 * time.Second)
			for liveStarted.IsZero() || w.count("dead") == 0 {
				select {
				case name := <-w.started:
					switch name {
					case "live":
						liveStarted = time.Now()
					case "dead":
						t.Logf("%s: the dead process's job ran again %.1fs after the kill", d, time.Since(killed).Seconds())
					}
				case <-deadline:
					t.Fatalf("45s after the kill: the dead process's job ran %d times here, the live job %d times",
						w.count("dead"), w.count("live"))
				}
			}
			if since := time.Since(killed); since > 30*time.Second {
				t.Errorf("the job was taken back %.1fs after the kill, want under 30s", since.Seconds())
			}
			// The live job outlasts the lease, untouched.
			time.Sleep(time.Until(liveStarted.Add(25 * time.Second)))
			if st, attempt := jobState(t, s, live.Job.ID); st != "running" || attempt != 1 || w.count("live") != 1 {
				t.Fatalf("the live job is %s, attempt %d, run %d times; want running, 1, once", st, attempt, w.count("live"))
			}
			deadDone := time.Now().Add(10 * time.Second)
			for {
				st, attempt := jobState(t, s, dead.Job.ID)
				if st == "completed" && attempt == 2 {
					break
				}
				if time.Now().After(deadDone) {
					t.Fatalf("the taken-back job is %s, attempt %d; want completed, 2", st, attempt)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n := w.count("dead"); n != 1 {
				t.Fatalf("the taken-back job ran %d times here", n)
			}
		})
	}
}

// openShared opens and migrates a store of dialect d that another process
// can open too, with the configuration it needs for that.
func openShared(t *testing.T, d sqlstore.Dialect) (sqlstore.Config, *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	cfg := sqlstoretest.Config(t, d)
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := job.Migrate(ctx, s); err != nil {
		t.Fatal(err)
	}
	return cfg, s
}

// killInOtherProcess starts TestHelperQueueProcess on the store of cfg,
// waits until it is working the job named name and kills it with SIGKILL,
// leaving the job running for a client that is gone.
func killInOtherProcess(t *testing.T, cfg sqlstore.Config, name string) {
	t.Helper()
	b, _ := json.Marshal(cfg)
	child := exec.Command(os.Args[0], "-test.run=^TestHelperQueueProcess$")
	child.Env = append(os.Environ(), childEnv+"="+string(b))
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	working := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "working "); ok {
				working <- n
			}
		}
	}()
	select {
	case n := <-working:
		if n != name {
			child.Process.Kill()
			t.Fatalf("the other process took %q", n)
		}
	case <-time.After(30 * time.Second):
		child.Process.Kill()
		t.Fatal("the other process never took the job")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
}

// jobState reads a job's state and attempt from River's table.
func jobState(t *testing.T, s *sqlstore.Store, id int64) (state string, attempt int) {
	t.Helper()
	const q = `SELECT state, attempt FROM river_job WHERE id = $1`
	var err error
	if s.Dialect() == sqlstore.Postgres {
		err = s.Pool().QueryRow(context.Background(), q, id).Scan(&state, &attempt)
	} else {
		err = s.SQLDB().QueryRowContext(context.Background(), q, id).Scan(&state, &attempt)
	}
	if err == sql.ErrNoRows {
		t.Fatalf("job %d is gone", id)
	} else if err != nil {
		t.Fatal(err)
	}
	return state, attempt
}

// causeWorker holds the first run of every job until its context ends and
// reports why it ended; later runs complete at once.
type causeWorker struct {
	river.WorkerDefaults[holdArgs]
	started chan int
	causes  chan error
}

func (w *causeWorker) Work(ctx context.Context, j *river.Job[holdArgs]) error {
	w.started <- j.Attempt
	if j.Attempt > 1 {
		return nil
	}
	<-ctx.Done()
	w.causes <- context.Cause(ctx)
	return ctx.Err()
}

// TestQueueThatCannotRenewItsLeaseStopsItsJobs keeps a queue from writing
// its heartbeat (another transaction holds its row): before its lease runs
// out and its job may be given to another process, it cancels the job
// itself; once the heartbeat is written again the job runs again, once.
// PostgreSQL only: there a row lock blocks the heartbeat alone.
func TestQueueThatCannotRenewItsLeaseStopsItsJobs(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstore.Postgres)
	ctx := context.Background()
	if err := job.Migrate(ctx, s); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	w := &causeWorker{started: make(chan int, 10), causes: make(chan error, 10)}
	river.AddWorker(workers, w)
	q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond, LeaseTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	res, err := q.Insert(ctx, holdArgs{Name: "fenced"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := <-w.started; a != 1 {
		t.Fatalf("first run is attempt %d", a)
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM queue_clients WHERE client_id = $1 FOR UPDATE`, q.ClientID()); err != nil {
		t.Fatal(err)
	}
	blocked := time.Now()
	select {
	case cause := <-w.causes:
		if cause == nil || !strings.Contains(cause.Error(), "lease lost") {
			t.Fatalf("the job's context ended with %v, want the lease lost", cause)
		}
		if since := time.Since(blocked); since >= time.Second {
			t.Fatalf("the job was cancelled %v after the heartbeat stopped, not before the 1s lease ran out", since)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job ran on with its heartbeat blocked")
	}
	tx.Rollback(ctx)
	select {
	case a := <-w.started:
		if a != 2 {
			t.Fatalf("second run is attempt %d", a)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled job never ran again")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := jobState(t, s, res.Job.ID); st == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job did not complete on its second run")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case a := <-w.started:
		t.Fatalf("the job ran a third time (attempt %d)", a)
	case <-time.After(2 * time.Second):
	}
}

// TestDiscardedJobIsReported runs a job's only attempt in another process
// and kills that process: the job cannot run again, so it is discarded, and
// Config.Discarded for its kind is told, with the job's args, so the work it
// stood for can be marked failed (nothing else would: its worker never
// returned).
func TestDiscardedJobIsReported(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a lease to run out")
	}
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg, s := openShared(t, d)
			told := make(chan string, 4)
			workers := river.NewWorkers()
			w := &holdWorker{hold: map[string]bool{}, release: make(chan struct{}), started: make(chan string, 10), runs: map[string]int{}}
			river.AddWorker(workers, w)
			q, err := job.New(s, workers, job.Config{PollInterval: 50 * time.Millisecond,
				HeartbeatInterval: 300 * time.Millisecond,
				Discarded: map[string]func(context.Context, []byte){
					"test.hold": func(_ context.Context, args []byte) { told <- string(args) },
				}})
			if err != nil {
				t.Fatal(err)
			}
			last, err := q.Insert(ctx, holdArgs{Name: "last"}, &river.InsertOpts{MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			killInOtherProcess(t, cfg, "last")

			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer q.Stop(ctx)
			select {
			case args := <-told:
				var got holdArgs
				if err := json.Unmarshal([]byte(args), &got); err != nil || got.Name != "last" {
					t.Fatalf("told of args %s (%v), want the job's", args, err)
				}
			case <-time.After(30 * time.Second):
				st, attempt := jobState(t, s, last.Job.ID)
				t.Fatalf("30s after the kill nothing was told; the job is %s, attempt %d", st, attempt)
			}
			if st, _ := jobState(t, s, last.Job.ID); st != "discarded" {
				t.Fatalf("the job is %s, want discarded", st)
			}
			if n := w.count("last"); n != 0 {
				t.Fatalf("the job ran %d times here after its last attempt", n)
			}
		})
	}
}
