package sqlstore

import (
	"context"
	"fmt"

	"github.com/callscope/callscope"
)

// Secrets the store must read back (webhook signing secrets; service
// credentials) are sealed with the store's keyring before they are written
// and opened when read, so that the database alone does not hand them
// over. Values written in the clear by earlier versions are still read, and
// ResealSecrets seals them.

// seal seals a secret for storage; what names it in errors.
func (q *queries) seal(what, plaintext string) (string, error) {
	s, err := q.keys.Seal(plaintext)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", what, err)
	}
	return s, nil
}

// open reads a stored secret; what names it in errors.
func (q *queries) open(what, stored string) (string, error) {
	s, err := q.keys.Open(stored)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", what, err)
	}
	return s, nil
}

// ResealSecrets seals, with the first key of the store's keyring, every
// stored secret that is in the clear or sealed with another of its keys,
// and returns how many values it sealed. Run at start-up, it completes a
// key rotation. It fails, naming CALLSCOPE_SECRET_KEY, on a value no key
// of the keyring opens; it does nothing without a keyring.
func (s *Store) ResealSecrets(ctx context.Context) (int, error) {
	if s.keys == nil {
		return 0, nil
	}
	n, err := s.resealWebhookSecrets(ctx)
	if err != nil {
		return n, err
	}
	m, err := s.resealSettingsSecrets(ctx)
	if err != nil {
		return n + m, err
	}
	k, err := s.resealCallbackSecrets(ctx)
	return n + m + k, err
}

// sealSettings returns a copy of a tenant's settings with their secrets
// (the CRM's Authorization header, the agent service's client secret)
// sealed for storage.
func (q *queries) sealSettings(s callscope.Settings) (callscope.Settings, error) {
	var err error
	if s.CRMPush != nil {
		c := *s.CRMPush
		if c.AuthHeader, err = q.seal("settings.crm_push.auth_header", c.AuthHeader); err != nil {
			return s, err
		}
		s.CRMPush = &c
	}
	if s.AgentService != nil {
		a := *s.AgentService
		if a.ClientSecret, err = q.seal("settings.agent_service.client_secret", a.ClientSecret); err != nil {
			return s, err
		}
		s.AgentService = &a
	}
	if s.Twilio != nil {
		tw := *s.Twilio
		if tw.AuthToken, err = q.seal("settings.twilio.auth_token", tw.AuthToken); err != nil {
			return s, err
		}
		if tw.APIKeySecret, err = q.seal("settings.twilio.api_key_secret", tw.APIKeySecret); err != nil {
			return s, err
		}
		s.Twilio = &tw
	}
	return s, nil
}

// openSettings opens, in place, the secrets of settings read from storage.
func (q *queries) openSettings(s *callscope.Settings) error {
	var err error
	if s.CRMPush != nil && s.CRMPush.AuthHeader != "" {
		if s.CRMPush.AuthHeader, err = q.open("settings.crm_push.auth_header", s.CRMPush.AuthHeader); err != nil {
			return err
		}
	}
	if s.AgentService != nil && s.AgentService.ClientSecret != "" {
		if s.AgentService.ClientSecret, err = q.open("settings.agent_service.client_secret", s.AgentService.ClientSecret); err != nil {
			return err
		}
	}
	if s.Twilio != nil && s.Twilio.AuthToken != "" {
		if s.Twilio.AuthToken, err = q.open("settings.twilio.auth_token", s.Twilio.AuthToken); err != nil {
			return err
		}
	}
	if s.Twilio != nil && s.Twilio.APIKeySecret != "" {
		if s.Twilio.APIKeySecret, err = q.open("settings.twilio.api_key_secret", s.Twilio.APIKeySecret); err != nil {
			return err
		}
	}
	return nil
}

// resealSettingsSecrets seals the tenant settings secrets that are in the
// clear or sealed with an older key.
func (q *queries) resealSettingsSecrets(ctx context.Context) (int, error) {
	type stale struct {
		id  string
		raw []byte
	}
	rs, err := q.ex.query(ctx, `SELECT id, settings FROM tenants`)
	if err != nil {
		return 0, err
	}
	var todo []stale
	for rs.Next() {
		var x stale
		if err := rs.Scan(&x.id, &x.raw); err != nil {
			rs.Close()
			return 0, err
		}
		set, _ := callscope.ParseStoredSettings(x.raw)
		if (set.CRMPush != nil && q.keys.NeedsReseal(set.CRMPush.AuthHeader)) ||
			(set.AgentService != nil && q.keys.NeedsReseal(set.AgentService.ClientSecret)) ||
			(set.Twilio != nil && (q.keys.NeedsReseal(set.Twilio.AuthToken) || q.keys.NeedsReseal(set.Twilio.APIKeySecret))) {
			todo = append(todo, x)
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, x := range todo {
		set, _ := callscope.ParseStoredSettings(x.raw)
		if err := q.openSettings(&set); err != nil {
			return n, fmt.Errorf("tenant %s: %w", x.id, err)
		}
		sealed, err := q.sealSettings(set)
		if err != nil {
			return n, err
		}
		// Only if unchanged meanwhile.
		m, err := q.ex.execRows(ctx, `UPDATE tenants SET settings = $2 WHERE id = $1 AND settings = $3`,
			x.id, jsonArg(sealed), string(x.raw))
		if err != nil {
			return n, err
		}
		n += int(m)
	}
	q.secrets.forget()
	return n, nil
}

func (q *queries) resealWebhookSecrets(ctx context.Context) (int, error) {
	type stale struct{ id, secret, previous string }
	rs, err := q.ex.query(ctx, `SELECT id, secret, previous_secret FROM webhook_endpoints`)
	if err != nil {
		return 0, err
	}
	var todo []stale
	for rs.Next() {
		var x stale
		if err := rs.Scan(&x.id, &x.secret, &x.previous); err != nil {
			rs.Close()
			return 0, err
		}
		if q.keys.NeedsReseal(x.secret) || q.keys.NeedsReseal(x.previous) {
			todo = append(todo, x)
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, x := range todo {
		secret, err := q.keys.Reseal(x.secret)
		if err != nil {
			return n, fmt.Errorf("webhook endpoint %s: secret: %w", x.id, err)
		}
		previous, err := q.keys.Reseal(x.previous)
		if err != nil {
			return n, fmt.Errorf("webhook endpoint %s: previous secret: %w", x.id, err)
		}
		// Only if unchanged meanwhile: a rotation by another replica wins.
		m, err := q.ex.execRows(ctx, `UPDATE webhook_endpoints SET secret = $2, previous_secret = $3
			WHERE id = $1 AND secret = $4 AND previous_secret = $5`, x.id, secret, previous, x.secret, x.previous)
		if err != nil {
			return n, err
		}
		n += int(m)
	}
	return n, nil
}
