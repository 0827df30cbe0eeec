package http

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Check is the outcome of one component check.
type Check struct {
	Healthy bool   `json:"healthy"`
	Detail  string `json:"detail,omitempty"`
}

// ModelStatus describes one configured model provider.
type ModelStatus struct {
	Stage     string `json:"stage"`
	Provider  string `json:"provider"`
	Model     string `json:"model,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	Reachable bool   `json:"reachable"`
	Detail    string `json:"detail,omitempty"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if s.Draining() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining", "version": s.Version})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.Version})
	return nil
}

func (s *Server) handleHealthDetailed(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]Check{}
	start := time.Now()
	if err := s.Store.Ping(ctx); err != nil {
		checks["database"] = Check{Healthy: false, Detail: err.Error()}
	} else {
		checks["database"] = Check{Healthy: true, Detail: s.Store.Describe() + " (" + time.Since(start).Round(time.Microsecond).String() + ")"}
	}
	if counts, err := s.Jobs.JobCounts(ctx); err != nil {
		checks["queue"] = Check{Healthy: false, Detail: err.Error()}
	} else {
		checks["queue"] = Check{Healthy: true, Detail: queueSummary(counts)}
	}
	if s.Components != nil {
		for k, v := range s.Components(ctx) {
			checks[k] = v
		}
	}
	status, code := "healthy", http.StatusOK
	for _, c := range checks {
		if !c.Healthy {
			status, code = "unhealthy", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, map[string]any{"status": status, "version": s.Version, "timestamp": s.Now().UTC().Format(time.RFC3339), "checks": checks})
	return nil
}

func queueSummary(c map[string]int) string {
	return fmt.Sprintf("available=%d running=%d retryable=%d scheduled=%d", c["available"], c["running"], c["retryable"], c["scheduled"])
}

func (s *Server) handleHealthModels(w http.ResponseWriter, r *http.Request) error {
	models := []ModelStatus{}
	if s.Models != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		models = s.Models(ctx)
	}
	status, code := "healthy", http.StatusOK
	for _, m := range models {
		if !m.Reachable {
			status, code = "unhealthy", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, map[string]any{"status": status, "timestamp": s.Now().UTC().Format(time.RFC3339), "models": models})
	return nil
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler().ServeHTTP(w, r)
	return nil
}
