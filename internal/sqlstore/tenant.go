package sqlstore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

const tenantColumns = `id, name, results_secret, settings, created_at`

func (q *queries) scanTenant(r row) (*callscope.Tenant, error) {
	var t callscope.Tenant
	var settings []byte
	if err := r.Scan(&t.ID, &t.Name, &t.ResultsSecret, &settings, &t.CreatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	// Settings stored by an older version without validation may not
	// read; they are left at their defaults rather than break the tenant.
	t.Settings, _ = callscope.ParseStoredSettings(settings)
	if err := q.openSettings(&t.Settings); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", t.ID, err)
	}
	return &t, nil
}

// Results secrets are stored as their SHA-256 digest, "sha256:<hex>", so
// that the tenant a secret belongs to is found by an indexed lookup and the
// secret itself is not kept. A Tenant read from the store holds the digest
// in ResultsSecret.
const secretDigestPrefix = "sha256:"

// secretDigest returns the stored form of a results secret: "" for none,
// the digest itself when given one.
func secretDigest(secret string) string {
	if secret == "" || IsSecretDigest(secret) {
		return secret
	}
	sum := sha256.Sum256([]byte(secret))
	return secretDigestPrefix + hex.EncodeToString(sum[:])
}

// IsSecretDigest reports whether s has the form of a stored results secret
// digest. Such a string cannot be chosen as a secret.
func IsSecretDigest(s string) bool {
	if len(s) != len(secretDigestPrefix)+64 || !strings.HasPrefix(s, secretDigestPrefix) {
		return false
	}
	_, err := hex.DecodeString(s[len(secretDigestPrefix):])
	return err == nil
}

var errSecretLooksLikeDigest = callscope.Errorf(callscope.EINVALID, "a results secret cannot have the form %s<64 hex digits>", secretDigestPrefix)

// secretTaken returns ECONFLICT if a tenant other than id has the results
// secret digest.
func (q *queries) secretTaken(ctx context.Context, id, digest string) error {
	if digest == "" {
		return nil
	}
	var n int
	if err := q.ex.queryRow(ctx, `SELECT count(*) FROM tenants WHERE results_secret = $1 AND id <> $2`, digest, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return callscope.Errorf(callscope.ECONFLICT, "another tenant has this results secret")
	}
	return nil
}

// CreateTenant stores a new tenant, filling in ID and CreatedAt.
// Returns EINVALID for an empty name and ECONFLICT if the name is taken.
func (q *queries) CreateTenant(ctx context.Context, t *callscope.Tenant) error {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		return callscope.Errorf(callscope.EINVALID, "tenant name is required")
	}
	if len(t.Name) > 200 {
		return callscope.Errorf(callscope.EINVALID, "tenant name is longer than 200 characters")
	}
	t.ID = callscope.NewID()
	t.CreatedAt = q.now()
	sealed, err := q.sealSettings(t.Settings)
	if err != nil {
		return err
	}
	if IsSecretDigest(t.ResultsSecret) {
		return errSecretLooksLikeDigest
	}
	t.ResultsSecret = secretDigest(t.ResultsSecret)
	if err := q.secretTaken(ctx, t.ID, t.ResultsSecret); err != nil {
		return err
	}
	defer q.secrets.forget()
	err = q.exec(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		t.ID, t.Name, t.ResultsSecret, jsonArg(sealed), t.CreatedAt)
	if callscope.ErrorCode(err) == callscope.ECONFLICT {
		return callscope.Errorf(callscope.ECONFLICT, "a tenant named %q already exists", t.Name)
	}
	return err
}

// Tenant returns the tenant with the given id. Returns ENOTFOUND if there is
// none.
func (q *queries) Tenant(ctx context.Context, id string) (*callscope.Tenant, error) {
	t, err := q.scanTenant(q.ex.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "tenant not found")
	}
	return t, err
}

// TenantByName returns the tenant with the given name. Returns ENOTFOUND if
// there is none.
func (q *queries) TenantByName(ctx context.Context, name string) (*callscope.Tenant, error) {
	t, err := q.scanTenant(q.ex.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE name = $1`, name))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "tenant not found")
	}
	return t, err
}

// Tenants lists every tenant, oldest first.
func (q *queries) Tenants(ctx context.Context) ([]*callscope.Tenant, error) {
	rs, err := q.ex.query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.Tenant{}
	for rs.Next() {
		t, err := q.scanTenant(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rs.Err()
}

// UpdateTenant changes a tenant. Returns ENOTFOUND if it does not exist and
// ECONFLICT if the new name is taken.
func (q *queries) UpdateTenant(ctx context.Context, id string, u callscope.TenantUpdate) (*callscope.Tenant, error) {
	t, err := q.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		t.Name = strings.TrimSpace(*u.Name)
		if t.Name == "" {
			return nil, callscope.Errorf(callscope.EINVALID, "tenant name is required")
		}
	}
	if u.ResultsSecret != nil {
		if IsSecretDigest(*u.ResultsSecret) {
			return nil, errSecretLooksLikeDigest
		}
		t.ResultsSecret = secretDigest(*u.ResultsSecret)
		if err := q.secretTaken(ctx, t.ID, t.ResultsSecret); err != nil {
			return nil, err
		}
	}
	if u.Settings != nil {
		t.Settings = *u.Settings
	}
	sealed, err := q.sealSettings(t.Settings)
	if err != nil {
		return nil, err
	}
	defer q.secrets.forget()
	err = q.exec(ctx, `UPDATE tenants SET name = $2, results_secret = $3, settings = $4 WHERE id = $1`,
		t.ID, t.Name, t.ResultsSecret, jsonArg(sealed))
	if callscope.ErrorCode(err) == callscope.ECONFLICT {
		return nil, callscope.Errorf(callscope.ECONFLICT, "a tenant named %q already exists", t.Name)
	}
	return t, err
}

// API keys look like "cs_<prefix>_<secret>": the prefix finds the row, the
// secret is checked against its SHA-256 in constant time. Keys carry 256
// random bits, so a fast hash is the right one (no dictionary to resist).
const keyScheme = "cs_"

const apiKeyColumns = `id, tenant_id, name, prefix, hash, admin, created_at, revoked_at, last_used_at`

func scanAPIKey(r row) (*callscope.APIKey, error) {
	var k callscope.APIKey
	if err := r.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, &k.Admin, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt); err != nil {
		return nil, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	return &k, nil
}

// CreateAPIKey mints a key for a tenant and returns it with the plain secret,
// which is shown once and never stored. Returns ENOTFOUND if the tenant does
// not exist.
func (q *queries) CreateAPIKey(ctx context.Context, tenantID, name string, admin bool) (*callscope.APIKey, string, error) {
	if _, err := q.Tenant(ctx, tenantID); err != nil {
		return nil, "", err
	}
	// The prefix is hex so it never contains the "_" separator; the secret
	// is base64url and may.
	prefix := hex.EncodeToString(callscope.RandomBytes(6))
	secret := base64.RawURLEncoding.EncodeToString(callscope.RandomBytes(32))
	sum := sha256.Sum256([]byte(secret))
	k := &callscope.APIKey{
		ID: callscope.NewID(), TenantID: tenantID, Name: name, Prefix: prefix,
		Hash: sum[:], Admin: admin, CreatedAt: q.now(),
	}
	err := q.exec(ctx, `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, admin, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.TenantID, k.Name, k.Prefix, k.Hash, k.Admin, k.CreatedAt)
	if err != nil {
		return nil, "", err
	}
	return k, keyScheme + prefix + "_" + secret, nil
}

// APIKeys lists a tenant's keys, revoked ones included.
func (q *queries) APIKeys(ctx context.Context, tenantID string) ([]*callscope.APIKey, error) {
	rs, err := q.ex.query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE tenant_id = $1 ORDER BY id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.APIKey{}
	for rs.Next() {
		k, err := scanAPIKey(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rs.Err()
}

// RevokeAPIKey revokes a key of the tenant (any tenant when tenantID is "").
// Revoking twice is not an error. Returns ENOTFOUND if there is no such key.
func (q *queries) RevokeAPIKey(ctx context.Context, tenantID, keyID string) (*callscope.APIKey, error) {
	k, err := scanAPIKey(q.ex.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, keyID))
	if err != nil || (tenantID != "" && k.TenantID != tenantID) {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "API key not found")
	}
	if k.RevokedAt == nil {
		now := q.now()
		k.RevokedAt = &now
		if err := q.exec(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, k.ID, now); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Authenticate returns the principal a plain API key stands for. Returns
// EUNAUTHORIZED for a malformed, unknown or revoked key.
func (q *queries) Authenticate(ctx context.Context, key string) (*callscope.Principal, error) {
	bad := callscope.Errorf(callscope.EUNAUTHORIZED, "Invalid API key")
	rest, ok := strings.CutPrefix(key, keyScheme)
	if !ok {
		return nil, bad
	}
	prefix, secret, ok := strings.Cut(rest, "_")
	if !ok || prefix == "" || secret == "" || len(prefix) > 64 {
		return nil, bad
	}
	k, err := scanAPIKey(q.ex.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = $1`, prefix))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], k.Hash) != 1 || k.Revoked() {
		return nil, bad
	}
	return &callscope.Principal{TenantID: k.TenantID, KeyID: k.ID, Admin: k.Admin}, nil
}

// TouchAPIKey records that a key was used; callers rate-limit how often.
func (q *queries) TouchAPIKey(ctx context.Context, keyID string, at time.Time) error {
	return q.exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, keyID, callscope.Timestamp(at))
}
