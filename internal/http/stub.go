package http

import (
	"net/http"

	"github.com/callscope/callscope"
)

// notYet answers for a registered route whose handler is being written.
func notYet(w http.ResponseWriter, r *http.Request) error {
	return callscope.Errorf(callscope.EUNAVAILABLE, "not implemented yet")
}
