package http

import (
	"context"

	"github.com/callscope/callscope"
)

// Store is what the HTTP surfaces read, and the records they keep that
// cause no events or jobs (tenants, API keys, analyzers, webhook endpoints).
// Every change to a call goes through the call service instead.
// *sqlstore.Store implements it.
type Store interface {
	APIKeys(ctx context.Context, tenantID string) ([]*callscope.APIKey, error)
	ActiveCallVersions(ctx context.Context, tenantID string) ([]callscope.CallRef, error)
	Analyzer(ctx context.Context, tenantID, id string) (*callscope.Analyzer, error)
	AnalyzerRuns(ctx context.Context, callID string) ([]*callscope.AnalyzerRun, error)
	Analyzers(ctx context.Context, tenantID string, activeOnly bool) ([]*callscope.Analyzer, error)
	Authenticate(ctx context.Context, key string) (*callscope.Principal, error)
	Backfill(ctx context.Context, tenantID, id string) (*callscope.Backfill, error)
	Backfills(ctx context.Context, tenantID, analyzerID string) ([]*callscope.Backfill, error)
	Call(ctx context.Context, tenantID, ref string) (*callscope.Call, error)
	CallsWithRecordings(ctx context.Context, callIDs []string) (map[string]bool, error)
	CancelBackfill(ctx context.Context, tenantID, id string) (*callscope.Backfill, error)
	CountCalls(ctx context.Context, tenantID string, statuses ...callscope.CallStatus) (int, error)
	CreateAPIKey(ctx context.Context, tenantID, name string, admin bool) (*callscope.APIKey, string, error)
	CreateAnalyzer(ctx context.Context, a *callscope.Analyzer) error
	CreateTenant(ctx context.Context, t *callscope.Tenant) error
	CreateWebhookEndpoint(ctx context.Context, w *callscope.WebhookEndpoint) error
	DeleteAnalyzer(ctx context.Context, tenantID, id string) error
	DeleteWebhookEndpoint(ctx context.Context, tenantID, id string) error
	Deletions(ctx context.Context, tenantID string, limit int) ([]*callscope.Deletion, error)
	Deliveries(ctx context.Context, tenantID, callID string) ([]*callscope.Delivery, error)
	DeliveryAttempts(ctx context.Context, deliveryIDs []string) (map[string][]*callscope.DeliveryAttempt, error)
	Describe() string
	Evolution(ctx context.Context, callID, kind string) ([]*callscope.EvolutionSnapshot, error)
	LegalHold(ctx context.Context, callID string) (*callscope.LegalHold, error)
	OutboundCall(ctx context.Context, tenantID, ref string) (*callscope.OutboundCall, error)
	OutboundCalls(ctx context.Context, q callscope.OutboundQuery) ([]*callscope.OutboundCall, int, error)
	Ping(ctx context.Context) error
	Processing(ctx context.Context, callID string) (*callscope.Processing, error)
	ProcessingCallIDs(ctx context.Context, tenantID string, status callscope.ProcessingStatus, limit int) ([]string, error)
	ProcessingCounts(ctx context.Context, tenantID string) (map[callscope.ProcessingStatus]int, error)
	Recording(ctx context.Context, callID, recordingID string) (*callscope.Recording, error)
	RecordingByToken(ctx context.Context, token string) (*callscope.Recording, error)
	Recordings(ctx context.Context, callID string) ([]*callscope.Recording, error)
	RevokeAPIKey(ctx context.Context, tenantID, keyID string) (*callscope.APIKey, error)
	SearchCalls(ctx context.Context, cq callscope.CallQuery) ([]*callscope.Call, error)
	Segments(ctx context.Context, callID string) ([]callscope.Segment, error)
	SessionStats(ctx context.Context, tenantID string) (*callscope.SessionStats, error)
	SessionsByID(ctx context.Context, tenantID string, ids []string) ([]*callscope.Call, map[string][]callscope.Segment, error)
	Tenant(ctx context.Context, id string) (*callscope.Tenant, error)
	TenantByName(ctx context.Context, name string) (*callscope.Tenant, error)
	TenantByResultsSecret(ctx context.Context, secret string) (*callscope.Tenant, error)
	Tenants(ctx context.Context) ([]*callscope.Tenant, error)
	UpdateAnalyzer(ctx context.Context, a *callscope.Analyzer) error
	UpdateTenant(ctx context.Context, id string, u callscope.TenantUpdate) (*callscope.Tenant, error)
	UpdateWebhookEndpoint(ctx context.Context, w *callscope.WebhookEndpoint) error
	WebhookDeliveries(ctx context.Context, tenantID, endpointID string, limit int) ([]*callscope.WebhookDelivery, error)
	WebhookEndpoint(ctx context.Context, tenantID, id string) (*callscope.WebhookEndpoint, error)
	WebhookEndpoints(ctx context.Context, tenantID string, enabledOnly bool) ([]*callscope.WebhookEndpoint, error)
	// Contacts and to-dos, in contacts.go.
	Contact(ctx context.Context, tenantID, id string) (*callscope.Contact, error)
	ContactCalls(ctx context.Context, tenantID, contactID, after string, limit int) ([]*callscope.Call, error)
	Contacts(ctx context.Context, f callscope.ContactFilter) ([]*callscope.Contact, error)
	CreateContact(ctx context.Context, c *callscope.Contact) error
	UpdateContact(ctx context.Context, c *callscope.Contact) error
	DeleteContact(ctx context.Context, tenantID, id string) error
	CreateTodo(ctx context.Context, t *callscope.Todo) error
	Todo(ctx context.Context, tenantID, id string) (*callscope.Todo, error)
	Todos(ctx context.Context, f callscope.TodoFilter) ([]*callscope.Todo, error)
	UpdateTodo(ctx context.Context, t *callscope.Todo) error
	// Outbound campaigns and the do-not-call list, in campaigns.go.
	Campaign(ctx context.Context, tenantID, id string) (*callscope.Campaign, error)
	Campaigns(ctx context.Context, tenantID, cursor string, limit int) ([]*callscope.Campaign, error)
	CampaignProgress(ctx context.Context, tenantID, campaignID string) (*callscope.CampaignProgress, error)
	CampaignLog(ctx context.Context, tenantID, campaignID, event, cursor string, limit int) ([]*callscope.CampaignLogEntry, error)
	AddDoNotCall(ctx context.Context, e *callscope.DoNotCallEntry) (*callscope.DoNotCallEntry, bool, error)
	DoNotCallList(ctx context.Context, tenantID, cursor string, limit int) ([]*callscope.DoNotCallEntry, error)
	DeleteDoNotCall(ctx context.Context, tenantID, number string) error
}

// Jobs counts the durable queue's jobs. *job.Queue implements it.
type Jobs interface {
	// JobCounts counts every job by queue state.
	JobCounts(ctx context.Context) (map[string]int, error)
	// CallJobs counts the jobs of a kind of a tenant (of one call when
	// callID is not "").
	CallJobs(ctx context.Context, kind, tenantID, callID string) (callscope.QueueCounts, error)
}

// WebhookReplayer sends a webhook delivery again. *deliver.Webhooks
// implements it.
type WebhookReplayer interface {
	Replay(ctx context.Context, tenantID, endpointID, deliveryID string) (*callscope.WebhookDelivery, error)
}
