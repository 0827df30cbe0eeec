package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

const userColumns = `id, tenant_id, email, name, role, disabled, password_hash, created_at, updated_at`

func scanUser(r row) (*callscope.User, error) {
	var u callscope.User
	var role string
	if err := r.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Disabled, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	u.Role = callscope.Role(role)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// CreateUser stores a new console user, filling in ID and the timestamps;
// the e-mail address is stored lower-cased. Returns EINVALID for a missing
// or malformed field and ECONFLICT if the address is taken.
func (q *queries) CreateUser(ctx context.Context, u *callscope.User) error {
	u.Email = callscope.NormalizeEmail(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	switch {
	case u.TenantID == "":
		return callscope.Errorf(callscope.EINVALID, "a user needs a tenant")
	case u.Email == "" || len(u.Email) > 254 || !strings.Contains(u.Email, "@"):
		return callscope.Errorf(callscope.EINVALID, "e-mail address %q is not valid", u.Email)
	case len(u.Name) > 200:
		return callscope.Errorf(callscope.EINVALID, "name is longer than 200 characters")
	case !u.Role.Valid():
		return callscope.Errorf(callscope.EINVALID, "role %q is not one of admin, supervisor, agent", u.Role)
	case u.PasswordHash == "":
		return callscope.Errorf(callscope.EINVALID, "a user needs a password")
	}
	u.ID = callscope.NewID()
	u.CreatedAt = q.now()
	u.UpdatedAt = u.CreatedAt
	err := q.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.TenantID, u.Email, u.Name, string(u.Role), u.Disabled, u.PasswordHash, u.CreatedAt, u.UpdatedAt)
	if callscope.ErrorCode(err) == callscope.ECONFLICT {
		return callscope.Errorf(callscope.ECONFLICT, "a user with e-mail address %q already exists", u.Email)
	}
	return err
}

// UserByEmail returns the user with the e-mail address, whatever its case.
// Returns ENOTFOUND if there is none.
func (q *queries) UserByEmail(ctx context.Context, email string) (*callscope.User, error) {
	u, err := scanUser(q.ex.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, callscope.NormalizeEmail(email)))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "user not found")
	}
	return u, err
}

// Users lists the tenant's users (every tenant's when tenantID is ""), by
// e-mail address.
func (q *queries) Users(ctx context.Context, tenantID string) ([]*callscope.User, error) {
	query, args := `SELECT `+userColumns+` FROM users ORDER BY email`, []any{}
	if tenantID != "" {
		query, args = `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 ORDER BY email`, []any{tenantID}
	}
	rs, err := q.ex.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.User{}
	for rs.Next() {
		u, err := scanUser(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rs.Err()
}

// CountUsers counts the console users of every tenant.
func (q *queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := q.ex.queryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// SetUserDisabled disables (or enables again) the user with the e-mail
// address; disabling ends the user's sessions. Returns ENOTFOUND if there
// is no such user.
func (q *queries) SetUserDisabled(ctx context.Context, email string, disabled bool) (*callscope.User, error) {
	u, err := q.UserByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	u.Disabled, u.UpdatedAt = disabled, q.now()
	if err := q.exec(ctx, `UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1`, u.ID, disabled, u.UpdatedAt); err != nil {
		return nil, err
	}
	if disabled {
		if err := q.exec(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, u.ID); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// SetUserPassword replaces the user's password hash and ends every other
// session of the user than keepSessionID. Returns ENOTFOUND if there is no
// such user.
func (q *queries) SetUserPassword(ctx context.Context, userID, hash, keepSessionID string) error {
	n, err := q.ex.execRows(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, userID, hash, q.now())
	if err != nil {
		return err
	}
	if n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "user not found")
	}
	return q.exec(ctx, `DELETE FROM user_sessions WHERE user_id = $1 AND id <> $2`, userID, keepSessionID)
}

// CreateUserSession stores a session, filling in ID and CreatedAt, and
// removes the sessions that have expired.
func (q *queries) CreateUserSession(ctx context.Context, s *callscope.UserSession) error {
	s.ID = callscope.NewID()
	s.CreatedAt = q.now()
	if err := q.exec(ctx, `DELETE FROM user_sessions WHERE expires_at < $1`, s.CreatedAt); err != nil {
		return err
	}
	return q.exec(ctx, `INSERT INTO user_sessions (id, user_id, token_hash, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		s.ID, s.UserID, s.TokenHash, s.CSRFToken, s.CreatedAt, s.ExpiresAt)
}

// UserSession returns the session whose token has the digest, with its
// user, if it has not expired at now and its user is not disabled. Returns
// ENOTFOUND otherwise.
func (q *queries) UserSession(ctx context.Context, tokenHash string, now time.Time) (*callscope.UserSession, *callscope.User, error) {
	var s callscope.UserSession
	var u callscope.User
	var role string
	err := q.ex.queryRow(ctx, `SELECT s.id, s.user_id, s.token_hash, s.csrf_token, s.created_at, s.expires_at,
		u.id, u.tenant_id, u.email, u.name, u.role, u.disabled, u.password_hash, u.created_at, u.updated_at
		FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, tokenHash).Scan(
		&s.ID, &s.UserID, &s.TokenHash, &s.CSRFToken, &s.CreatedAt, &s.ExpiresAt,
		&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Disabled, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		if callscope.ErrorCode(err) == callscope.ENOTFOUND {
			return nil, nil, callscope.Errorf(callscope.ENOTFOUND, "session not found")
		}
		return nil, nil, err
	}
	if u.Disabled || !s.ExpiresAt.After(now) {
		return nil, nil, callscope.Errorf(callscope.ENOTFOUND, "session not found")
	}
	u.Role = callscope.Role(role)
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &s, &u, nil
}

// DeleteUserSession ends a session. Ending it twice is not an error.
func (q *queries) DeleteUserSession(ctx context.Context, id string) error {
	return q.exec(ctx, `DELETE FROM user_sessions WHERE id = $1`, id)
}
