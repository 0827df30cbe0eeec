package http_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
	"github.com/callscope/callscope/internal/voicebot"
)

// TestResultsWeakRecordingToken: a platform could choose a guessable token
// for the recording's public URL.
func TestResultsWeakRecordingToken(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			for i, tok := range []string{"a19597", " ", strings.Repeat("k", 300), strings.Repeat("ab", 20), "5f2b9c0e7a1d4e8f3b6c2a9d0e7f1a4b"} {
				sid := fmt.Sprintf("weak-%d", i)
				r := e.do("POST", "/api/v1/call-results", "", map[string]any{"session_id": sid,
					"recording_url": "https://media.example.com/rec.wav", "recording_access_token": tok}, "X-CXBCore-Secret", resultsSecret)
				wantStatus(t, r, 422)
				if locs := errorLocs(t, r); len(locs) != 1 || locs[0] != "body.recording_access_token" {
					t.Errorf("token %q: 422 names %v", tok, locs)
				}
				if _, err := e.store.Call(context.Background(), e.tenant.ID, sid); callscope.ErrorCode(err) != callscope.ENOTFOUND {
					t.Errorf("token %q: a call was stored (%v)", tok, err)
				}
				if _, err := e.store.RecordingByToken(context.Background(), tok); callscope.ErrorCode(err) != callscope.ENOTFOUND {
					t.Errorf("token %q: a recording holds it (%v)", tok, err)
				}
			}
			good := voicebot.NewToken()
			wantStatus(t, e.do("POST", "/api/v1/call-results", "", map[string]any{"session_id": "strong",
				"recording_url": "https://media.example.com/rec.wav", "recording_access_token": good}, "X-CXBCore-Secret", resultsSecret), 200)
			if rec, err := e.store.RecordingByToken(context.Background(), good); err != nil || rec.SourceURL != "https://media.example.com/rec.wav" {
				t.Errorf("strong token not kept: %v", err)
			}
		})
	}
}

// TestResultsTokenCollision: a token equal to another tenant's made the
// whole results post fail. The result is now stored under a token of its
// own, the other recording keeps its token, and the answer says nothing.
func TestResultsTokenCollision(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			other := sqlstoretest.MustTenant(t, e.store)
			otherSecret := "other-results-secret-0123456789"
			_, err := e.store.UpdateTenant(ctx, other.ID, callscope.TenantUpdate{ResultsSecret: &otherSecret})
			must(t, err)
			token := voicebot.NewToken()
			wantStatus(t, e.do("POST", "/api/v1/call-results", "", map[string]any{"session_id": "theirs",
				"recording_url": "https://media.example.com/theirs.wav", "recording_access_token": token}, "X-CXBCore-Secret", otherSecret), 200)

			post := func() response {
				return e.do("POST", "/api/v1/call-results", "", map[string]any{"session_id": "mine", "disconnected_by": "user",
					"recording_url": "https://media.example.com/mine.wav", "recording_access_token": token}, "X-CXBCore-Secret", resultsSecret)
			}
			r := post()
			wantStatus(t, r, 200)
			if got := r.json(t); got["status"] != "ok" || got["session_id"] != "mine" {
				t.Fatalf("answer = %s", r.Body)
			}
			rec, err := e.store.RecordingByToken(ctx, token)
			must(t, err)
			if rec.TenantID != other.ID || rec.SourceURL != "https://media.example.com/theirs.wav" {
				t.Fatalf("the other tenant's token now opens %+v", rec)
			}
			c, err := e.store.Call(ctx, e.tenant.ID, "mine")
			must(t, err)
			recs, err := e.store.Recordings(ctx, c.ID)
			must(t, err)
			if len(recs) != 1 || recs[0].AccessToken == token || voicebot.CheckToken(recs[0].AccessToken) != "" ||
				recs[0].SourceURL != "https://media.example.com/mine.wav" {
				t.Fatalf("own recording = %+v", recs)
			}
			if doc := results(t, c); doc["recording_access_token"] != recs[0].AccessToken {
				t.Errorf("stored document names token %v, the recording has %s", doc["recording_access_token"], recs[0].AccessToken)
			}
			// Sent again, the result keeps the token it was given.
			wantStatus(t, post(), 200)
			recs2, err := e.store.Recordings(ctx, c.ID)
			must(t, err)
			if len(recs2) != 1 || recs2[0].AccessToken != recs[0].AccessToken {
				t.Errorf("after a second post: %+v, want the token %s kept", recs2, recs[0].AccessToken)
			}
		})
	}
}
