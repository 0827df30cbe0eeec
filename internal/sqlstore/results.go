package sqlstore

import (
	"context"
	"sync"
	"time"

	"github.com/callscope/callscope"
)

// TenantByResultsSecret returns the tenant whose results secret is secret,
// looked up by the secret's digest. Returns ENOTFOUND when none matches.
//
// Tenants found are cached for secretCacheTTL: result webhooks arrive by
// the thousand per second, and a tenant changed by this process is dropped
// from the cache at once (by another process, within the TTL). The tenant
// returned is shared; callers must not modify it.
func (q *queries) TenantByResultsSecret(ctx context.Context, secret string) (*callscope.Tenant, error) {
	if secret == "" || IsSecretDigest(secret) {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "no tenant has this results secret")
	}
	digest := secretDigest(secret)
	if t := q.secrets.get(digest, q.now()); t != nil {
		return t, nil
	}
	gen := q.secrets.generation()
	t, err := q.scanTenant(q.ex.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE results_secret = $1`, digest))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "no tenant has this results secret")
	} else if err != nil {
		return nil, err
	}
	q.secrets.put(digest, t, gen, q.now())
	return t, nil
}

// secretCacheTTL is how long a tenant found by its results secret is
// reused.
const secretCacheTTL = time.Second

// secretCache maps results secret digests to tenants. A nil cache caches
// nothing.
type secretCache struct {
	mu      sync.Mutex
	gen     uint64 // raised by every tenant write
	entries map[string]secretEntry
}

type secretEntry struct {
	t       *callscope.Tenant
	expires time.Time
}

func (c *secretCache) get(digest string, now time.Time) *callscope.Tenant {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[digest]
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.t
}

func (c *secretCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches t unless a tenant was written since gen was read: the read
// may predate the write.
func (c *secretCache) put(digest string, t *callscope.Tenant, gen uint64, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.entries == nil || len(c.entries) > 10000 {
		c.entries = map[string]secretEntry{}
	}
	c.entries[digest] = secretEntry{t, now.Add(secretCacheTTL)}
}

// forget empties the cache; every tenant write calls it.
func (c *secretCache) forget() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = nil
}

// digestResultsSecrets replaces results secrets stored in the clear (by
// versions before secrets were digested) with their digests.
func (q *queries) digestResultsSecrets(ctx context.Context) error {
	rs, err := q.ex.query(ctx, `SELECT id, results_secret FROM tenants WHERE results_secret <> ''`)
	if err != nil {
		return err
	}
	clear := map[string]string{}
	for rs.Next() {
		var id, secret string
		if err := rs.Scan(&id, &secret); err != nil {
			rs.Close()
			return err
		}
		if !IsSecretDigest(secret) {
			clear[id] = secret
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}
	for id, secret := range clear {
		q.secrets.forget()
		if err := q.exec(ctx, `UPDATE tenants SET results_secret = $2 WHERE id = $1`, id, secretDigest(secret)); err != nil {
			return err
		}
	}
	return nil
}

// UpdateRecording writes back a recording's metadata and token. Returns
// ENOTFOUND if it does not exist.
func (q *queries) UpdateRecording(ctx context.Context, rec *callscope.Recording) error {
	var token any
	if rec.AccessToken != "" {
		token = rec.AccessToken
	}
	n, err := q.ex.execRows(ctx, `UPDATE recordings SET format = $2, content_type = $3, channels = $4, duration_seconds = $5,
		size_bytes = $6, storage_key = $7, source_url = $8, access_token = $9 WHERE id = $1`,
		rec.ID, rec.Format, rec.ContentType, rec.Channels, rec.DurationSeconds, rec.SizeBytes, rec.StorageKey, rec.SourceURL, token)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "recording not found")
	}
	return err
}

// Recording returns one recording of a call. Returns ENOTFOUND if the call
// has no such recording.
func (q *queries) Recording(ctx context.Context, callID, recordingID string) (*callscope.Recording, error) {
	rec, err := scanRecording(q.ex.queryRow(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE call_id = $1 AND id = $2`, callID, recordingID))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "recording not found")
	}
	return rec, err
}

// CallVersion returns the id and last update time of the tenant's call
// named by ref, cheaply, so that a change prepared from an earlier read can
// check nothing changed meanwhile. Returns ENOTFOUND if there is no such
// call.
func (q *queries) CallVersion(ctx context.Context, tenantID, ref string) (string, time.Time, error) {
	return q.callVersion(ctx, tenantID, ref, "")
}

// LockCallVersion is CallVersion in a transaction that goes on to write
// the call: on PostgreSQL it locks the call's row until the transaction
// ends, so that no other transaction changes the call between the check and
// the write. (SQLite runs one writing transaction at a time.)
func (tx *Tx) LockCallVersion(ctx context.Context, tenantID, ref string) (string, time.Time, error) {
	lock := ""
	if tx.d == Postgres {
		// Not FOR UPDATE: rows that reference the call (its segments,
		// external ids) take key-share locks on it, which this must not
		// wait for.
		lock = " FOR NO KEY UPDATE"
	}
	return tx.callVersion(ctx, tenantID, ref, lock)
}

func (q *queries) callVersion(ctx context.Context, tenantID, ref, lock string) (string, time.Time, error) {
	var id string
	var at time.Time
	err := q.ex.queryRow(ctx, `SELECT id, updated_at FROM calls
		WHERE tenant_id = $1 AND id = COALESCE(
			(SELECT call_id FROM call_external_ids WHERE tenant_id = $1 AND value = $2), $2)`+lock, tenantID, ref).Scan(&id, &at)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return "", time.Time{}, callscope.Errorf(callscope.ENOTFOUND, "Call session not found")
	}
	return id, at.UTC(), err
}
