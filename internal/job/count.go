package job

import (
	"context"
	"slices"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/prometheus/client_golang/prometheus"
)

// queuedStates are the queue states of a job that has not finished.
var queuedStates = []string{"available", "pending", "scheduled", "retryable", "running"}

// summarize turns counts by state into QueueCounts.
func summarize(counts map[string]int) callscope.QueueCounts {
	q := callscope.QueueCounts{ByState: map[string]int{}}
	for _, st := range queuedStates {
		q.ByState[st] = 0
	}
	for st, n := range counts {
		q.ByState[st] = n
	}
	q.Waiting = counts["available"] + counts["pending"] + counts["scheduled"] + counts["retryable"]
	q.Running = counts["running"]
	return q
}

// JobCounts counts every job in the queue by state.
func JobCounts(ctx context.Context, st *sqlstore.Store) (map[string]int, error) {
	return st.CountBy(ctx, `SELECT state, count(*) FROM river_job GROUP BY state`)
}

// JobKinds counts every job in the queue by kind, in any state.
func JobKinds(ctx context.Context, st *sqlstore.Store) (map[string]int, error) {
	return st.CountBy(ctx, `SELECT kind, count(*) FROM river_job GROUP BY kind`)
}

// CallJobs counts the jobs of a kind whose args name a tenant's calls
// (tenant_id, call_id), by queue state, for one call when callID
// (callscope's id) is not "".
func CallJobs(ctx context.Context, st *sqlstore.Store, kind, tenantID, callID string) (map[string]int, error) {
	query := `SELECT state, count(*) FROM river_job WHERE kind = $1 AND args->>'tenant_id' = $2`
	args := []any{kind, tenantID}
	if callID != "" {
		query += ` AND args->>'call_id' = $3`
		args = append(args, callID)
	}
	return st.CountBy(ctx, query+` GROUP BY state`, args...)
}

// JobCounts counts every job in the queue by state.
func (q *Queue) JobCounts(ctx context.Context) (map[string]int, error) {
	return JobCounts(ctx, q.store)
}

// CallJobs counts the jobs of a kind of a tenant (of one call when callID
// is not "").
func (q *Queue) CallJobs(ctx context.Context, kind, tenantID, callID string) (callscope.QueueCounts, error) {
	counts, err := CallJobs(ctx, q.store, kind, tenantID, callID)
	if err != nil {
		return callscope.QueueCounts{}, err
	}
	return summarize(counts), nil
}

// Collector reports the queue depth by job state at scrape time, as
// callscope_queue_jobs{state}.
func (q *Queue) Collector() prometheus.Collector { return &queueCollector{store: q.store} }

type queueCollector struct{ store *sqlstore.Store }

var (
	queueDesc   = prometheus.NewDesc("callscope_queue_jobs", "Jobs in the durable queue, by state.", []string{"state"}, nil)
	waitingDesc = prometheus.NewDesc("callscope_queue_waiting_jobs",
		"Jobs due and waiting for a worker (available or retryable), by kind.", []string{"kind"}, nil)
	ageDesc = prometheus.NewDesc("callscope_queue_oldest_waiting_seconds",
		"How long the oldest job due and waiting for a worker has waited, by kind (0 when none waits).", []string{"kind"}, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- waitingDesc
	ch <- ageDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := JobCounts(ctx, c.store)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	for _, st := range []string{"available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled", "pending"} {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(counts[st]), st)
	}
	now := time.Now()
	waiting, oldest, err := c.store.CountOldestBy(ctx, `SELECT kind, count(*), MIN(scheduled_at) FROM river_job
		WHERE state IN ('available', 'retryable') AND scheduled_at <= $1 GROUP BY kind`, now.UTC())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(waitingDesc, err)
		return
	}
	for _, kind := range kindsOf(waiting) {
		ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(waiting[kind]), kind)
		age := 0.0
		if t, ok := oldest[kind]; ok {
			age = max(0, now.Sub(t).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, age, kind)
	}
}

// kindsOf is every job kind callscope runs, and any other found waiting.
func kindsOf(waiting map[string]int) []string {
	kinds := []string{"call.process", "events.dispatch", "webhook.deliver", "agent.notify", "email.send", "crm.push",
		"campaign.reconcile", "analyzers.run", "analyzers.backfill", "retention.apply"}
	for k := range waiting {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}
