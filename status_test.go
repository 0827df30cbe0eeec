package callscope_test

import (
	"strings"
	"testing"

	"github.com/callscope/callscope"
)

// TestNextStatus is the status rule written out for every (from, to) pair
// and both kinds of report: '>' moves the call to the reported status, '.'
// leaves it where it is. Rows are the status the call has, columns the
// status reported, both in callscope.CallStatuses order.
func TestNextStatus(t *testing.T) {
	//                     sch ini rin inp end com fai can voi noa bus
	observed := map[callscope.CallStatus]string{
		callscope.CallScheduled:  " .   >   >   >   >   >   >   >   >   >   > ",
		callscope.CallInitiating: " .   .   >   >   >   >   >   >   >   >   > ",
		callscope.CallRinging:    " .   .   .   >   >   >   >   >   >   >   > ",
		callscope.CallInProgress: " .   .   .   .   >   >   >   >   >   >   > ",
		callscope.CallEnding:     " .   .   .   .   .   >   >   >   >   >   > ",
		callscope.CallCompleted:  " .   .   .   .   .   .   .   .   .   .   . ",
		callscope.CallFailed:     " .   .   .   .   .   .   .   .   .   .   . ",
		callscope.CallCancelled:  " .   .   .   .   .   .   .   .   .   .   . ",
		callscope.CallVoicemail:  " .   .   .   .   .   .   .   .   .   .   . ",
		callscope.CallNoAnswer:   " .   .   .   .   .   .   .   .   .   .   . ",
		callscope.CallBusy:       " .   .   .   .   .   .   .   .   .   .   . ",
	}
	outcome := map[callscope.CallStatus]string{
		callscope.CallScheduled:  " .   >   >   >   >   >   >   >   >   >   > ",
		callscope.CallInitiating: " .   .   >   >   >   >   >   >   >   >   > ",
		callscope.CallRinging:    " .   .   .   >   >   >   >   >   >   >   > ",
		callscope.CallInProgress: " .   .   .   .   >   >   >   >   >   >   > ",
		callscope.CallEnding:     " .   .   .   .   .   >   >   >   >   >   > ",
		callscope.CallCompleted:  " .   .   .   .   .   .   >   >   >   >   > ",
		callscope.CallFailed:     " .   .   .   .   .   >   .   >   >   >   > ",
		callscope.CallCancelled:  " .   .   .   .   .   >   >   .   >   >   > ",
		callscope.CallVoicemail:  " .   .   .   .   .   >   >   >   .   >   > ",
		callscope.CallNoAnswer:   " .   .   .   .   .   >   >   >   >   .   > ",
		callscope.CallBusy:       " .   .   .   .   .   >   >   >   >   >   . ",
	}
	for _, tc := range []struct {
		name   string
		report callscope.StatusReport
		table  map[callscope.CallStatus]string
	}{{"Observed", callscope.Observed, observed}, {"Outcome", callscope.Outcome, outcome}} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.table) != len(callscope.CallStatuses) {
				t.Fatalf("table has %d rows, want one per status (%d)", len(tc.table), len(callscope.CallStatuses))
			}
			for _, from := range callscope.CallStatuses {
				cells := strings.Fields(tc.table[from])
				if len(cells) != len(callscope.CallStatuses) {
					t.Fatalf("row %s has %d cells", from, len(cells))
				}
				for j, to := range callscope.CallStatuses {
					got, changed := callscope.NextStatus(from, to, tc.report)
					want, wantChanged := from, false
					if cells[j] == ">" {
						want, wantChanged = to, true
					}
					if got != want || changed != wantChanged {
						t.Errorf("%s → %s: got (%s, %v), want (%s, %v)", from, to, got, changed, want, wantChanged)
					}
				}
			}
		})
	}
	t.Run("UnknownStatus", func(t *testing.T) {
		if got, changed := callscope.NextStatus(callscope.CallInProgress, "hung_up", callscope.Outcome); changed || got != callscope.CallInProgress {
			t.Fatalf("unknown status applied: %s", got)
		}
	})
}
