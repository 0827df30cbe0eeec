package ari

import (
	"fmt"

	"github.com/callscope/callscope"
)

// Q.850 cause values (ITU-T Q.850 §2.2.7.1; Asterisk names them in
// include/asterisk/causes.h and reports them as the cause of
// ChannelHangupRequest and ChannelDestroyed) that decide a call's outcome.
const (
	CauseNormalClearing     = 16 // AST_CAUSE_NORMAL_CLEARING
	CauseUserBusy           = 17 // AST_CAUSE_USER_BUSY
	CauseNoUserResponse     = 18 // AST_CAUSE_NO_USER_RESPONSE
	CauseNoAnswer           = 19 // AST_CAUSE_NO_ANSWER
	CauseCallRejected       = 21 // AST_CAUSE_CALL_REJECTED
	CauseUnallocated        = 1  // AST_CAUSE_UNALLOCATED
	CauseNoRouteDestination = 3  // AST_CAUSE_NO_ROUTE_DESTINATION
	CauseCongestion         = 34 // AST_CAUSE_CONGESTION
)

// StatusOf is the final status of a call whose channel ended with a Q.850
// cause: normal clearing completed, user busy busy, no user responding and
// no answer (alerting) no_answer, any other cause failed.
func StatusOf(cause int) callscope.CallStatus {
	switch cause {
	case CauseNormalClearing:
		return callscope.CallCompleted
	case CauseUserBusy:
		return callscope.CallBusy
	case CauseNoUserResponse, CauseNoAnswer:
		return callscope.CallNoAnswer
	}
	return callscope.CallFailed
}

// causeText is Asterisk's text of the causes above (ast_cause2str).
var causeText = map[int]string{
	CauseNormalClearing: "Normal Clearing", CauseUserBusy: "User busy", CauseNoUserResponse: "No user responding",
	CauseNoAnswer: "User alerting, no answer", CauseCallRejected: "Call Rejected",
	CauseUnallocated: "Unallocated (unassigned) number", CauseNoRouteDestination: "No route to destination",
	CauseCongestion: "Circuit/channel congestion",
}

// CauseText names a Q.850 cause, for an event that carries none.
func CauseText(cause int) string {
	if t, ok := causeText[cause]; ok {
		return t
	}
	return fmt.Sprintf("cause %d", cause)
}
