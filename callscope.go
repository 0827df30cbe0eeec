// Package callscope holds the domain of a call-intelligence backend: one
// record per phone call whatever the call came from, the state of its
// post-call processing, and the deliveries made for it.
//
// The root package speaks only of the domain. Storage (internal/sqlstore),
// the job queue (internal/job), the HTTP surfaces (internal/http) and the
// command (cmd/callscope) are adapters around it.
package callscope

import (
	"crypto/rand"
	"time"

	"github.com/google/uuid"
)

// NewID returns a new time-ordered identifier (UUID version 7) for a stored
// object. Ordering by id orders by creation time, which keeps cursor
// pagination cheap.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// RandomBytes returns n bytes from the operating system's secure source.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms; if it does the
		// process cannot mint secrets safely and must not continue.
		panic("callscope: crypto/rand failed: " + err.Error())
	}
	return b
}

// Timestamp normalises t for storage: UTC with microsecond precision, the
// finest precision both supported databases keep.
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
