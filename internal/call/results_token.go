package call

import (
	"context"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/voicebot"
)

// ownToken returns the recording access token a results payload may keep.
// A supplied token that another recording (of this tenant or any other)
// already holds is never given to this one; instead the recording keeps
// the token it has, or gets a fresh one, and the result is stored as
// usual. Refusing the post would tell the sender that the token exists and
// lose the result; storing it under a fresh token reveals nothing (the
// answer is the same) and loses nothing. The stored document carries the
// token in force.
func ownToken(ctx context.Context, rd resultsReader, supplied string, rec *callscope.Recording) (string, error) {
	if rec != nil && rec.AccessToken == supplied {
		return supplied, nil
	}
	other, err := rd.RecordingByToken(ctx, supplied)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return supplied, nil
	} else if err != nil {
		return "", err
	}
	if rec != nil && other.ID == rec.ID {
		return supplied, nil
	}
	if rec != nil && rec.AccessToken != "" {
		return rec.AccessToken, nil
	}
	return voicebot.NewToken(), nil
}
