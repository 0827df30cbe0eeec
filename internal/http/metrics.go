package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	requests *prometheus.HistogramVec
	reg      *prometheus.Registry
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callscope_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
	}
	for _, c := range []prometheus.Collector{m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			if _, dup := err.(prometheus.AlreadyRegisteredError); !dup {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// JobMetrics counts finished jobs by kind and outcome; register it on the
// same registry and pass Observe to the queue's OnJobDone.
type JobMetrics struct {
	runs *prometheus.HistogramVec
}

// NewJobMetrics registers the job metrics on reg.
func NewJobMetrics(reg *prometheus.Registry) *JobMetrics {
	j := &JobMetrics{runs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "callscope_jobs_duration_seconds",
		Help:    "Run time of finished jobs, by kind and outcome (the _count is jobs by kind and outcome).",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"kind", "outcome"})}
	reg.MustRegister(j.runs)
	return j
}

// Observe records one finished job run.
func (j *JobMetrics) Observe(kind, outcome string, run time.Duration) {
	j.runs.WithLabelValues(kind, outcome).Observe(run.Seconds())
}

// StageMetrics times the post-call pipeline's stages; register it on the
// same registry and pass Observe to the runner's OnStage.
type StageMetrics struct {
	runs *prometheus.HistogramVec
}

// NewStageMetrics registers the stage metrics on reg.
func NewStageMetrics(reg *prometheus.Registry) *StageMetrics {
	m := &StageMetrics{runs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "callscope_stage_duration_seconds",
		Help:    "Run time of post-call pipeline stages, by stage and status (completed, skipped, failed, retrying).",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"stage", "status"})}
	reg.MustRegister(m.runs)
	return m
}

// Observe records one stage run.
func (m *StageMetrics) Observe(stage, status string, took time.Duration) {
	m.runs.WithLabelValues(stage, status).Observe(took.Seconds())
}

// Gauge registers a gauge read from fn at scrape time.
func Gauge(reg *prometheus.Registry, name, help string, fn func() float64) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}
