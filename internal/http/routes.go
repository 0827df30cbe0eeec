package http

// routes is the one table of every route the server answers. The OpenAPI
// document (openapi.json) must describe exactly these; a test holds it to
// that.
func (s *Server) routes() []route {
	return []route{
		// Operations.
		{Method: "GET", Pattern: "/health", Auth: authPublic, Summary: "Liveness", Handle: s.handleHealth},
		{Method: "GET", Pattern: "/health/detailed", Auth: authPublic, Summary: "Database, queue and component checks", Handle: s.handleHealthDetailed},
		{Method: "GET", Pattern: "/health/models", Auth: authPublic, Summary: "Model providers configured and reachable", Handle: s.handleHealthModels},
		{Method: "GET", Pattern: "/metrics", Auth: authPublic, Summary: "Prometheus metrics", Handle: s.handleMetrics},
		{Method: "GET", Pattern: "/openapi.json", Auth: authPublic, Summary: "OpenAPI 3.1 description of this API", Handle: s.handleOpenAPI},
		{Method: "GET", Pattern: "/docs", Auth: authPublic, Summary: "API reference page", Handle: s.handleDocs},

		// Tenants and API keys (admin keys only).
		{Method: "GET", Pattern: "/api/v1/tenants", Auth: authAdmin, Summary: "List tenants", Handle: s.handleListTenants},
		{Method: "POST", Pattern: "/api/v1/tenants", Auth: authAdmin, Summary: "Create a tenant", Handle: s.handleCreateTenant},
		{Method: "GET", Pattern: "/api/v1/tenants/{tenant_id}", Auth: authAdmin, Summary: "Get a tenant", Handle: s.handleGetTenant},
		{Method: "PATCH", Pattern: "/api/v1/tenants/{tenant_id}", Auth: authAdmin, Summary: "Change a tenant", Handle: s.handleUpdateTenant},
		{Method: "GET", Pattern: "/api/v1/tenants/{tenant_id}/api-keys", Auth: authAdmin, Summary: "List a tenant's API keys", Handle: s.handleListKeys},
		{Method: "POST", Pattern: "/api/v1/tenants/{tenant_id}/api-keys", Auth: authAdmin, Summary: "Create an API key", Handle: s.handleCreateKey},
		{Method: "DELETE", Pattern: "/api/v1/tenants/{tenant_id}/api-keys/{key_id}", Auth: authAdmin, Summary: "Revoke an API key", Handle: s.handleRevokeKey},

		// Calls.
		{Method: "POST", Pattern: "/api/v1/calls", Auth: authTenant, Summary: "Create a call", Handle: s.handleCreateCall},
		{Method: "GET", Pattern: "/api/v1/calls", Auth: authTenant, Summary: "List calls", Handle: s.handleListCalls},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}", Auth: authTenant, Summary: "Get a call session", Handle: s.handleGetCall},
	}
}

// Routes lists "METHOD pattern" for every route, for tests and tools.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.routes() {
		out = append(out, r.Method+" "+r.Pattern)
	}
	return out
}
