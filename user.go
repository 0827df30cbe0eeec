package callscope

import (
	"strings"
	"time"
)

// Role is what a console user may do in their tenant.
type Role string

// Console roles.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleSupervisor || r == RoleAgent }

// User is a person who signs in to the console. Users belong to one tenant;
// an e-mail address names at most one user in the installation, so that
// signing in needs nothing more than it and a password.
type User struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
	Disabled bool   `json:"disabled"`
	// PasswordHash is the argon2id hash of the password in PHC string
	// form; it never leaves the server.
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// NormalizeEmail is the form an e-mail address is stored and looked up in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// UserSession is a signed-in console session. Only the digest of its token
// is stored.
type UserSession struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	TokenHash string `json:"-"`
	// CSRFToken is the session's token for forms: every POST of the
	// console carries it.
	CSRFToken string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}
