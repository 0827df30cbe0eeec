package http

import (
	"context"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/voicebot"
)

// Checks of the URLs callscope will later connect to, made where they are
// stored so that a refused address is a 422 naming the field rather than a
// delivery that fails later. The connection itself is checked again when it
// is made (egress.Policy.Client), which is what keeps redirects and DNS
// changes from getting around these checks.

// settingURLs are the tenant settings callscope sends requests to: the
// setting, and the fields of it that hold URLs.
var settingURLs = []struct {
	setting string
	fields  []string
}{
	{deliver.SettingAgentService, []string{"url", "token_url"}},
	{SettingCRMPush, []string{"url"}},
}

// checkSettingURLs checks the outbound URLs in tenant settings being
// written (settings.agent_service.url and .token_url,
// settings.crm_push.url) against the egress policy. Returns EINVALID
// naming each refused field, e.g. body.settings.crm_push.url.
func (s *Server) checkSettingURLs(ctx context.Context, settings map[string]any) error {
	var f fields
	for _, su := range settingURLs {
		set, ok := settings[su.setting].(map[string]any)
		if !ok {
			continue
		}
		for _, name := range su.fields {
			v, present := set[name]
			if !present || v == nil {
				continue
			}
			loc := []string{"body", "settings", su.setting, name}
			u, ok := v.(string)
			switch {
			case !ok:
				f.add("Input should be a valid string", "string_type", loc...)
			case len(u) > 2048:
				f.add("URL is longer than 2048 characters", "string_too_long", loc...)
			case u == "":
			default:
				if err := s.Egress.CheckURL(ctx, u); err != nil {
					f.add(callscope.ErrorMessage(err), "value_error", loc...)
				}
			}
		}
	}
	return f.err()
}

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
