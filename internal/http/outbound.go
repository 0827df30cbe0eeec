package http

import (
	"context"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/voicebot"
)

// Checks of the URLs callscope will later connect to, made where they are
// stored so that a refused address is a 422 naming the field rather than a
// delivery that fails later. The connection itself is checked again when it
// is made (egress.Policy.Client), which is what keeps redirects and DNS
// changes from getting around these checks.

// checkResultsURLs checks the recording_url of a results payload against
// the egress policy: GET /recordings/{token} and the pipeline fetch it
// later. A host that does not resolve at the moment is accepted (the
// platform's result must not be lost to a passing DNS failure); the
// connection is checked when made. Returns EINVALID naming
// body.recording_url.
func (s *Server) checkResultsURLs(ctx context.Context, p voicebot.Payload) error {
	u := p.String("recording_url")
	if u == "" {
		return nil
	}
	if err := s.Egress.CheckReceivedURL(ctx, u); err != nil {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "recording_url"},
			Msg: callscope.ErrorMessage(err), Type: "value_error"})
	}
	return nil
}
