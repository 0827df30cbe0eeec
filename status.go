package callscope

// StatusReport says how much weight a report of a call's status carries
// when it is applied to the status the call already has.
type StatusReport int

const (
	// Observed is a status seen in passing: a CDR's disposition, a
	// provider's status callback, a hangup, a request to end the call.
	// Observations move a call forward only and never take it out of a
	// final status, so reports that arrive late or twice change nothing.
	Observed StatusReport = iota
	// Outcome is the authoritative outcome of the call from the platform
	// that ran it (a voice-bot platform's results, merged again on every
	// post): it moves a call forward like an observation and may also
	// correct one final status into another.
	Outcome
)

// rank orders the live statuses along the lifecycle.
var rank = map[CallStatus]int{
	CallScheduled: 0, CallInitiating: 1, CallRinging: 2, CallInProgress: 3, CallEnding: 4,
}

// NextStatus is the one rule for changing a call's status: it returns the
// status a call in status from takes when a report of status to arrives,
// and whether that is a change.
//
//   - A live status moves forward only: scheduled → initiating → ringing →
//     in_progress → ending; a report of an earlier live status is ignored.
//   - A live call may end in any final status.
//   - A final status is left only by an Outcome naming another final status.
//
// Unknown statuses change nothing.
func NextStatus(from, to CallStatus, report StatusReport) (CallStatus, bool) {
	if from == to || !to.Valid() || !from.Valid() {
		return from, false
	}
	switch {
	case !from.Final() && to.Final():
		return to, true
	case !from.Final():
		if rank[to] > rank[from] {
			return to, true
		}
	case to.Final() && report == Outcome:
		return to, true
	}
	return from, false
}

// Live reports whether a call in status s is a live session: being set up
// or talking, not yet over or merely scheduled.
func (s CallStatus) Live() bool {
	switch s {
	case CallInitiating, CallRinging, CallInProgress, CallEnding:
		return true
	}
	return false
}

// Kinds of external id a call can be found by.
const (
	// ExtCallID is the id a caller chose when creating a call through the
	// Call Sessions API (often the PBX unique id).
	ExtCallID = "external"
	// ExtPBXUniqueID is an Asterisk channel's uniqueid, as CDRs name it.
	ExtPBXUniqueID = "pbx_uniqueid"
	// ExtSessionID is a voice-bot platform's session_id.
	ExtSessionID = "session_id"
	// ExtStreamID is a media stream's id (Twilio's StreamSid).
	ExtStreamID = "stream_id"
	// ExtCallSID is a Twilio CallSid.
	ExtCallSID = "call_sid"
	// ExtFile names a call made from a file by `callscope process`.
	ExtFile = "file"
	// ExtAudioSocketUUID is the UUID an Asterisk AudioSocket stream opened
	// with.
	ExtAudioSocketUUID = "audiosocket_uuid"
)

// CallSIDKinds are the external id kinds that hold a Twilio CallSid, the
// first being the one callscope writes.
var CallSIDKinds = []string{ExtCallSID, "twilio_call_sid", "twilio"}
