package stream

import "context"

type tenantKey struct{}

// WithTenant returns ctx naming the tenant whose stream it carries: a
// listener or route serving one tenant sets it, and the Sessions
// implementation opens the call for it.
func WithTenant(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tenantKey{}, name)
}

// TenantFrom returns the tenant WithTenant put in ctx, or "".
func TenantFrom(ctx context.Context) string {
	name, _ := ctx.Value(tenantKey{}).(string)
	return name
}
