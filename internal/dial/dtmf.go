package dial

import (
	"context"
	"time"
)

// KeyEvents is implemented by Events that also record the keys a contact
// presses during a call (call.dtmf), for dialers whose provider reports
// them.
type KeyEvents interface {
	// DTMF reports a key pressed at offset from the call's answer; track
	// names the party it came from (inbound: the contact).
	DTMF(ctx context.Context, tenantID, callID, digit, track string, offset time.Duration) error
}

var _ KeyEvents = (*Reporter)(nil)

// DTMF implements KeyEvents: a call.dtmf event of the call.
func (r *Reporter) DTMF(ctx context.Context, tenantID, callID, digit, track string, offset time.Duration) error {
	c, err := r.Calls.Store.Call(ctx, tenantID, callID)
	if err != nil {
		return err
	}
	return r.Calls.DTMF(ctx, c, digit, track, offset)
}
