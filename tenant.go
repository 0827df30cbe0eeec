package callscope

import "time"

// DefaultTenantName is the name of the tenant created on first start, which
// requests from trusted networks act as.
const DefaultTenantName = "default"

// Tenant is one organisation whose calls are kept apart from every other's.
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// ResultsSecret authenticates voice-bot result webhooks (seed 004's
	// X-CXBCore-Secret). Never serialised.
	ResultsSecret string    `json:"-"`
	Settings      Settings  `json:"settings"`
	CreatedAt     time.Time `json:"created_at"`
}

// APIKey is a credential of one tenant. Only a hash of its secret is kept.
type APIKey struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name,omitempty"`
	Prefix     string     `json:"prefix"` // the public part, to recognise a key
	Hash       []byte     `json:"-"`
	Admin      bool       `json:"admin"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Revoked reports whether the key can no longer be used.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// Principal is who a request acts as: a tenant, and whether it may act on
// any tenant.
type Principal struct {
	TenantID string
	KeyID    string // "" for a trusted-network request
	Admin    bool
}

// TenantUpdate holds the changes to a tenant; nil fields are left alone.
type TenantUpdate struct {
	Name          *string
	ResultsSecret *string
	Settings      *Settings
}
