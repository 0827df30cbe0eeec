package http

import (
	"math"
	"net/http"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
)

// processingView is the state of a call's post-call pipeline (seed 001
// §3.17), followed by callscope's own fields.
type processingView struct {
	CallID              string                 `json:"call_id"`
	ProcessingStatus    string                 `json:"processing_status"`
	CurrentStage        string                 `json:"current_stage"`
	StagesCompleted     []string               `json:"stages_completed"`
	StagesRemaining     []string               `json:"stages_remaining"`
	ProgressPercentage  float64                `json:"progress_percentage"`
	StartedAt           *string                `json:"started_at"`
	EstimatedCompletion *string                `json:"estimated_completion"`
	Errors              []callscope.StageError `json:"errors"`
	PipelineConfig      map[string]any         `json:"pipeline_config"`

	ProcessingRequested bool                 `json:"processing_requested"`
	FinishedAt          *string              `json:"finished_at"`
	Attempts            int                  `json:"attempts"`
	Stages              []callscope.StageRun `json:"stages"`
}

func (s *Server) handleCallProcessing(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	v := processingView{CallID: c.PublicID(), ProcessingStatus: string(callscope.ProcessingPending),
		StagesCompleted: []string{}, StagesRemaining: []string{}, Errors: []callscope.StageError{},
		PipelineConfig: map[string]any{}, Stages: []callscope.StageRun{}}
	p, err := s.Store.Processing(ctx, c.ID)
	switch {
	case callscope.ErrorCode(err) == callscope.ENOTFOUND:
		// No run has started: pending, and requested if a job asks for one.
		jobs, err := s.Jobs.CallJobs(ctx, pipeline.ProcessCallArgs{}.Kind(), c.TenantID, c.ID)
		if err != nil {
			return err
		}
		for _, n := range jobs.ByState {
			v.ProcessingRequested = v.ProcessingRequested || n > 0
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	case err != nil:
		return err
	}
	v.ProcessingRequested = true
	if p.Status != callscope.ProcessingNone {
		v.ProcessingStatus = string(p.Status)
	}
	v.CurrentStage, v.Attempts = p.CurrentStage, p.Attempts
	v.StartedAt, v.FinishedAt = isoTime(p.StartedAt), isoTime(p.FinishedAt)
	if p.StagesCompleted != nil {
		v.StagesCompleted = p.StagesCompleted
	}
	if p.StagesRemaining != nil {
		v.StagesRemaining = p.StagesRemaining
	}
	if p.Errors != nil {
		v.Errors = p.Errors
	}
	if p.Config != nil {
		v.PipelineConfig = p.Config
	}
	if p.Stages != nil {
		v.Stages = p.Stages
	}
	done, left := len(v.StagesCompleted), len(v.StagesRemaining)
	switch {
	case done+left > 0:
		v.ProgressPercentage = math.Round(float64(done)/float64(done+left)*1000) / 10
	case p.Status == callscope.ProcessingCompleted:
		v.ProgressPercentage = 100
	}
	switch p.Status {
	case callscope.ProcessingCompleted:
		v.EstimatedCompletion = v.FinishedAt
	case callscope.ProcessingInProgress:
		// The remaining stages at the average pace of this run's finished ones.
		var secs float64
		var n int
		for _, st := range p.Stages {
			if st.Status == "completed" && st.Seconds > 0 {
				secs += st.Seconds
				n++
			}
		}
		if n > 0 && left > 0 {
			est := callscope.Timestamp(s.Now()).Add(time.Duration(secs / float64(n) * float64(left) * float64(time.Second)))
			v.EstimatedCompletion = isoTime(&est)
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// processingOverview is the tenant's processing at a glance (seed 001
// §3.16).
type processingOverview struct {
	// StatusCounts has every processing status, with the calls in it.
	StatusCounts map[string]int `json:"status_counts"`
	// NotRequested counts the calls whose processing was never started.
	NotRequested int `json:"not_requested"`
	// CallsInProgress lists the calls being processed (at most 100).
	CallsInProgress []string `json:"calls_in_progress"`
	// Queue counts the tenant's processing jobs by queue state.
	Queue map[string]int `json:"queue"`
	// QueueDepth counts the jobs waiting to run.
	QueueDepth int `json:"queue_depth"`
	// Running counts the jobs running now.
	Running int `json:"running"`
	// MaxConcurrentProcessing is the number of runs at once, when known.
	MaxConcurrentProcessing *int   `json:"max_concurrent_processing"`
	Timestamp               string `json:"timestamp"`
}

func (s *Server) handleProcessingStatus(w http.ResponseWriter, r *http.Request) error {
	ctx, tenant := r.Context(), tenantID(r)
	counts, err := s.Store.ProcessingCounts(ctx, tenant)
	if err != nil {
		return err
	}
	total, err := s.Store.CountCalls(ctx, tenant)
	if err != nil {
		return err
	}
	inProgress, err := s.Store.ProcessingCallIDs(ctx, tenant, callscope.ProcessingInProgress, 100)
	if err != nil {
		return err
	}
	jobs, err := s.Jobs.CallJobs(ctx, pipeline.ProcessCallArgs{}.Kind(), tenant, "")
	if err != nil {
		return err
	}
	v := processingOverview{StatusCounts: map[string]int{}, CallsInProgress: inProgress, Queue: map[string]int{},
		Timestamp: callscope.Timestamp(s.Now()).Format(time.RFC3339Nano)}
	if s.MaxConcurrentProcessing > 0 {
		n := s.MaxConcurrentProcessing
		v.MaxConcurrentProcessing = &n
	}
	requested := 0
	for _, st := range []callscope.ProcessingStatus{callscope.ProcessingPending, callscope.ProcessingInProgress,
		callscope.ProcessingCompleted, callscope.ProcessingFailed} {
		v.StatusCounts[string(st)] = counts[st]
	}
	for _, n := range counts {
		requested += n
	}
	v.NotRequested = max(0, total-requested)
	v.Queue, v.QueueDepth, v.Running = jobs.ByState, jobs.Waiting, jobs.Running
	writeJSON(w, http.StatusOK, v)
	return nil
}
