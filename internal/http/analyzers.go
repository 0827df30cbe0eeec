package http

import (
	"net/http"

	"github.com/callscope/callscope"
)

// The seed 003 calls and analyzers API. Being written.

func (s *Server) handleConsoleCalls(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleConsoleCall(w http.ResponseWriter, r *http.Request) error { return notYet(w, r) }
func (s *Server) handleRerun(w http.ResponseWriter, r *http.Request) error       { return notYet(w, r) }
func (s *Server) handleConsoleRecording(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleListAnalyzers(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleCreateAnalyzer(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleGetAnalyzer(w http.ResponseWriter, r *http.Request) error { return notYet(w, r) }
func (s *Server) handleUpdateAnalyzer(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleDeleteAnalyzer(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleStartBackfill(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleListBackfills(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}
func (s *Server) handleGetBackfill(w http.ResponseWriter, r *http.Request) error { return notYet(w, r) }
func (s *Server) handleCancelBackfill(w http.ResponseWriter, r *http.Request) error {
	return notYet(w, r)
}

func notYet(w http.ResponseWriter, r *http.Request) error {
	return callscope.Errorf(callscope.EUNAVAILABLE, "not implemented yet")
}
