package http

// routes is the one table of every route the server answers. The OpenAPI
// document (openapi.json) must describe exactly these; a test holds it to
// that.
func (s *Server) routes() []route {
	ac := s.autocallerPrefix()
	return []route{
		// Operations.
		{Method: "GET", Pattern: "/health", Auth: authPublic, Summary: "Liveness", Handle: s.handleHealth},
		{Method: "GET", Pattern: "/health/detailed", Auth: authPublic, Summary: "Database, queue and component checks", Handle: s.handleHealthDetailed},
		{Method: "GET", Pattern: "/health/models", Auth: authPublic, Summary: "Model providers configured and reachable", Handle: s.handleHealthModels},
		{Method: "GET", Pattern: "/metrics", Auth: authPublic, Summary: "Prometheus metrics", Handle: s.handleMetrics},
		{Method: "GET", Pattern: "/openapi.json", Auth: authPublic, Summary: "OpenAPI 3.1 description of this API", Handle: s.handleOpenAPI},
		{Method: "GET", Pattern: "/docs", Auth: authPublic, Summary: "API reference page", Handle: s.handleDocs},

		// Tenants and API keys (admin keys only).
		{Method: "GET", Pattern: "/api/v1/tenants", Auth: authAdmin, Query: []string{}, Summary: "List tenants", Handle: s.handleListTenants},
		{Method: "POST", Pattern: "/api/v1/tenants", Auth: authAdmin, Summary: "Create a tenant", Body: bodyJSON, Handle: s.handleCreateTenant},
		{Method: "GET", Pattern: "/api/v1/tenants/{tenant_id}", Auth: authAdmin, Summary: "Get a tenant", Handle: s.handleGetTenant},
		{Method: "PATCH", Pattern: "/api/v1/tenants/{tenant_id}", Auth: authAdmin, Summary: "Change a tenant", Body: bodyJSON, Handle: s.handleUpdateTenant},
		{Method: "GET", Pattern: "/api/v1/tenants/{tenant_id}/api-keys", Auth: authAdmin, Query: []string{}, Summary: "List a tenant's API keys", Handle: s.handleListKeys},
		{Method: "POST", Pattern: "/api/v1/tenants/{tenant_id}/api-keys", Auth: authAdmin, Summary: "Create an API key", Body: bodyJSON, Handle: s.handleCreateKey},
		{Method: "DELETE", Pattern: "/api/v1/tenants/{tenant_id}/api-keys/{key_id}", Auth: authAdmin, Summary: "Revoke an API key", Handle: s.handleRevokeKey},

		// Calls.
		{Method: "POST", Pattern: "/api/v1/calls", Auth: authTenant, Summary: "Create a call", Body: bodyJSON, Handle: s.handleCreateCall},
		{Method: "GET", Pattern: "/api/v1/calls", Auth: authTenant, Query: []string{"cursor", "limit", "status", "direction", "from", "to", "q", "sort", "order", "offset"}, Summary: "List calls", Handle: s.handleListCalls},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}", Auth: authTenant, Summary: "Get a call session", Handle: s.handleGetCall},

		// Call Sessions API (seed 001 §3), in sessions.go.
		{Method: "GET", Pattern: "/api/v1/calls/active", Auth: authTenant, Query: []string{}, Summary: "Get active calls", Handle: s.handleActiveCalls},
		{Method: "GET", Pattern: "/api/v1/calls/stats", Auth: authTenant, Query: []string{}, Summary: "Get call stats", Handle: s.handleCallStats},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/transcript", Auth: authTenant, Summary: "Get call transcript", Handle: s.handleTranscript},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/segments", Auth: authTenant, Summary: "Get call segments", Handle: s.handleSegments},
		{Method: "POST", Pattern: "/api/v1/calls/{call_id}/segments", Auth: authTenant, Summary: "Append transcript segments", Body: bodyJSON, MaxBody: 16 << 20, Handle: s.handleAppendSegments},
		{Method: "POST", Pattern: "/api/v1/calls/{call_id}/end", Auth: authTenant, Summary: "Manually end call", Handle: s.handleEndCall},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/export", Auth: authTenant, Summary: "Export call for AI pipeline", Handle: s.handleExport},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/translation", Auth: authTenant, Summary: "Get call translation", Handle: s.handleTranslation},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/progressive-analysis", Auth: authTenant, Summary: "Get progressive analysis", Handle: s.handleProgressive},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/entity-evolution", Auth: authTenant, Summary: "Get entity evolution", Handle: s.handleEntityEvolution},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/classification-evolution", Auth: authTenant, Summary: "Get classification evolution", Handle: s.handleClassificationEvolution},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/processing", Auth: authTenant, Summary: "Get call processing status", Handle: s.handleCallProcessing},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/events", Auth: authTenant, Query: []string{"last_event_id"}, Summary: "Stream a call's live events (Server-Sent Events)", Handle: s.handleCallEvents},
		{Method: "GET", Pattern: "/api/v1/events", Auth: authTenant, Query: []string{"last_event_id"}, Summary: "Stream the tenant's live events (Server-Sent Events)", Handle: s.handleEvents},
		{Method: "GET", Pattern: "/api/v1/calls/processing/status", Auth: authTenant, Query: []string{}, Summary: "Get processing status", Handle: s.handleProcessingStatus},

		// Post-call processing (seed 000; seed 001 §3.8), in process.go.
		{Method: "POST", Pattern: "/api/v1/process", Auth: authTenant, Summary: "Queue a call's post-call processing", Handle: s.handleProcess, Body: bodyJSON},
		{Method: "POST", Pattern: "/api/v1/process/reprocess", Auth: authTenant, Summary: "Process a call again", Handle: s.handleReprocess, Body: bodyJSON},
		{Method: "POST", Pattern: "/api/v1/calls/{call_id}/trigger-ai-pipeline", Auth: authTenant, Summary: "Trigger AI pipeline processing", Handle: s.handleTriggerPipeline},

		// Calls and analyzers as the console uses them (seed 003), in analyzers.go.
		{Method: "GET", Pattern: "/api/calls", Auth: authTenant, Query: []string{"limit", "offset", "cursor"}, Summary: "List calls for the organization", Handle: s.handleConsoleCalls},
		{Method: "GET", Pattern: "/api/calls/{id}", Auth: authTenant, Summary: "Call details with transcription and analysis groups", Handle: s.handleConsoleCall},
		{Method: "POST", Pattern: "/api/calls/{id}/rerun", Auth: authTenant, Summary: "Re-run all active analyzers", Handle: s.handleRerun},
		{Method: "GET", Pattern: "/api/calls/{id}/recording", Auth: authTenant, Summary: "Serve the call's recording", Handle: s.handleConsoleRecording},
		{Method: "GET", Pattern: "/api/analyzers", Auth: authTenant, Query: []string{"active"}, Summary: "List analyzers", Handle: s.handleListAnalyzers},
		{Method: "POST", Pattern: "/api/analyzers", Auth: authTenant, Summary: "Create an analyzer", Handle: s.handleCreateAnalyzer, Body: bodyJSON},
		{Method: "GET", Pattern: "/api/analyzers/{id}", Auth: authTenant, Summary: "Get an analyzer", Handle: s.handleGetAnalyzer},
		{Method: "PATCH", Pattern: "/api/analyzers/{id}", Auth: authTenant, Summary: "Change an analyzer", Handle: s.handleUpdateAnalyzer, Body: bodyJSON},
		{Method: "DELETE", Pattern: "/api/analyzers/{id}", Auth: authTenant, Summary: "Delete an analyzer", Handle: s.handleDeleteAnalyzer},
		{Method: "POST", Pattern: "/api/analyzers/{id}/backfill", Auth: authTenant, Summary: "Run an analyzer over past calls", Handle: s.handleStartBackfill, Body: bodyJSON},
		{Method: "GET", Pattern: "/api/analyzers/{id}/backfills", Auth: authTenant, Query: []string{}, Summary: "List an analyzer's backfills", Handle: s.handleListBackfills},
		{Method: "GET", Pattern: "/api/analyzers/{id}/backfills/{backfill_id}", Auth: authTenant, Summary: "Get a backfill's progress", Handle: s.handleGetBackfill},
		{Method: "DELETE", Pattern: "/api/analyzers/{id}/backfills/{backfill_id}", Auth: authTenant, Summary: "Cancel a backfill", Handle: s.handleCancelBackfill},

		// Webhook endpoints and their delivery log (issue: delivery), in webhooks.go.
		{Method: "GET", Pattern: "/api/v1/webhooks", Auth: authTenant, Query: []string{}, Summary: "List webhook endpoints", Handle: s.handleListWebhooks},
		{Method: "POST", Pattern: "/api/v1/webhooks", Auth: authTenant, Summary: "Create a webhook endpoint", Handle: s.handleCreateWebhook, Body: bodyJSON},
		{Method: "GET", Pattern: "/api/v1/webhooks/{webhook_id}", Auth: authTenant, Summary: "Get a webhook endpoint", Handle: s.handleGetWebhook},
		{Method: "PATCH", Pattern: "/api/v1/webhooks/{webhook_id}", Auth: authTenant, Summary: "Change a webhook endpoint", Handle: s.handleUpdateWebhook, Body: bodyJSON},
		{Method: "DELETE", Pattern: "/api/v1/webhooks/{webhook_id}", Auth: authTenant, Summary: "Delete a webhook endpoint", Handle: s.handleDeleteWebhook},
		{Method: "POST", Pattern: "/api/v1/webhooks/{webhook_id}/rotate-secret", Auth: authTenant, Summary: "Rotate a webhook endpoint's signing secret", Handle: s.handleRotateWebhookSecret},
		{Method: "GET", Pattern: "/api/v1/webhooks/{webhook_id}/deliveries", Auth: authTenant, Query: []string{"limit"}, Summary: "List a webhook endpoint's deliveries", Handle: s.handleWebhookDeliveries},
		{Method: "POST", Pattern: "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", Auth: authTenant, Summary: "Send a delivery again", Handle: s.handleReplayDelivery},

		// Agent notification service (seed 001 §3.13–3.15), in agents.go.
		{Method: "GET", Pattern: "/api/v1/calls/agent-service/health", Auth: authTenant, Summary: "Get agent service health", Handle: s.handleAgentHealth},
		{Method: "POST", Pattern: "/api/v1/calls/agent-service/test-auth", Auth: authTenant, Summary: "Test agent auth", Handle: s.handleAgentTestAuth},
		{Method: "POST", Pattern: "/api/v1/calls/agent-service/test-notification", Auth: authTenant, Summary: "Test agent notification", Handle: s.handleAgentTestNotification},

		// Voice-bot results, CDRs and recordings (seed 004), in results.go
		// and recordings.go.
		{Method: "POST", Pattern: "/api/v1/call-results", Auth: authPublic, Summary: "Receive voice-bot call results", Body: bodyJSON, MaxBody: 16 << 20, Handle: s.handleCallResults},
		{Method: "POST", Pattern: "/api/v1/cdrs", Auth: authTenant, Summary: "Ingest Asterisk CDRs", Body: bodyJSON, MaxBody: 16 << 20, Handle: s.handleCDRs},
		{Method: "POST", Pattern: "/api/v1/calls/{call_id}/recording", Auth: authTenant, Summary: "Upload a recording", Body: bodyUpload, Handle: s.handleUploadRecording},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/recordings", Auth: authTenant, Query: []string{}, Summary: "List a call's recordings", Handle: s.handleListRecordings},
		{Method: "POST", Pattern: "/api/v1/calls/{call_id}/recordings/{recording_id}/token", Auth: authTenant, Summary: "Rotate a recording's access token", Handle: s.handleRotateRecordingToken},
		{Method: "DELETE", Pattern: "/api/v1/calls/{call_id}/recordings/{recording_id}/token", Auth: authTenant, Summary: "Revoke a recording's access token", Handle: s.handleRevokeRecordingToken},
		{Method: "GET", Pattern: "/recordings/{token}", Auth: authPublic, Summary: "Get a recording by its access token", Handle: s.handleRecordingByToken},

		// Erasure, legal holds and the erasure audit log, in erasure.go.
		{Method: "DELETE", Pattern: "/api/v1/calls/{call_id}", Auth: authTenant, Query: []string{"reason"}, Summary: "Delete a call and everything recorded about it", Handle: s.handleDeleteCall},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/legal-hold", Auth: authTenant, Summary: "Get a call's legal hold", Handle: s.handleGetLegalHold},
		{Method: "PUT", Pattern: "/api/v1/calls/{call_id}/legal-hold", Auth: authTenant, Summary: "Place a legal hold on a call", Body: bodyJSON, Handle: s.handlePutLegalHold},
		{Method: "DELETE", Pattern: "/api/v1/calls/{call_id}/legal-hold", Auth: authTenant, Summary: "Lift a call's legal hold", Handle: s.handleDeleteLegalHold},
		{Method: "GET", Pattern: "/api/v1/deletions", Auth: authTenant, Query: []string{"limit"}, Summary: "List the erasure audit log", Handle: s.handleDeletions},
		// Classification: dry runs and reviewers' corrections, in classify.go.
		{Method: "POST", Pattern: "/api/v1/classify", Auth: authTenant, Summary: "Classify a transcript without storing anything", Handle: s.handleClassify, Body: bodyJSON},
		{Method: "PUT", Pattern: "/api/v1/calls/{call_id}/classification", Auth: authTenant, Summary: "Set a call's category by a reviewer's decision", Handle: s.handleSetClassification, Body: bodyJSON},
		// Contacts and to-dos (seed 003), in contacts.go.
		{Method: "GET", Pattern: "/api/v1/contacts", Auth: authTenant, Query: []string{"q", "limit", "cursor"}, Summary: "List and search contacts", Handle: s.handleListContacts},
		{Method: "POST", Pattern: "/api/v1/contacts", Auth: authTenant, Summary: "Create a contact", Body: bodyJSON, Handle: s.handleCreateContact},
		{Method: "GET", Pattern: "/api/v1/contacts/{contact_id}", Auth: authTenant, Summary: "Get a contact", Handle: s.handleGetContact},
		{Method: "PATCH", Pattern: "/api/v1/contacts/{contact_id}", Auth: authTenant, Summary: "Change a contact", Body: bodyJSON, Handle: s.handleUpdateContact},
		{Method: "DELETE", Pattern: "/api/v1/contacts/{contact_id}", Auth: authTenant, Summary: "Delete a contact", Handle: s.handleDeleteContact},
		{Method: "GET", Pattern: "/api/v1/contacts/{contact_id}/calls", Auth: authTenant, Query: []string{"limit", "cursor"}, Summary: "List a contact's calls", Handle: s.handleContactCalls},
		{Method: "GET", Pattern: "/api/v1/todos", Auth: authTenant, Query: []string{"status", "assignee", "call_id", "due_before", "limit", "cursor"}, Summary: "List to-dos across calls", Handle: s.handleListTodos},
		{Method: "POST", Pattern: "/api/v1/todos", Auth: authTenant, Summary: "Add a to-do to a call", Body: bodyJSON, Handle: s.handleCreateTodo},
		{Method: "PATCH", Pattern: "/api/v1/todos/{todo_id}", Auth: authTenant, Summary: "Change a to-do", Body: bodyJSON, Handle: s.handleUpdateTodo},
		{Method: "GET", Pattern: "/api/v1/calls/{call_id}/todos", Auth: authTenant, Query: []string{}, Summary: "List a call's to-dos", Handle: s.handleCallTodos},
		// Auto-Caller outbound calls (seed 002), in autocaller.go, under a
		// configurable prefix.
		{Method: "POST", Pattern: ac + "/calls/schedule", Auth: authTenant, Summary: "Schedule a call", Body: bodyJSON, Handle: s.handleAutoSchedule},
		{Method: "POST", Pattern: ac + "/calls/{call_id}/start", Auth: authTenant, Summary: "Start a scheduled call now", Body: bodyJSON, Handle: s.handleAutoStart},
		{Method: "POST", Pattern: ac + "/calls/{call_id}/end", Auth: authTenant, Summary: "End a call in progress", Body: bodyJSON, Handle: s.handleAutoEnd},
		{Method: "GET", Pattern: ac + "/calls/{call_id}/status", Auth: authTenant, Query: []string{"userId"}, Summary: "Get a call's status", Handle: s.handleAutoStatus},
		{Method: "GET", Pattern: ac + "/calls/{call_id}", Auth: authTenant, Query: []string{"userId"}, Summary: "Get a call's details and results", Handle: s.handleAutoDetails},
		{Method: "GET", Pattern: ac + "/calls", Auth: authTenant, Query: []string{"userId", "status", "limit", "offset", "sortBy", "order"}, Summary: "List a user's calls", Handle: s.handleAutoList},
		{Method: "DELETE", Pattern: ac + "/calls/{call_id}", Auth: authTenant, Query: []string{"userId"}, Summary: "Cancel a scheduled call", Handle: s.handleAutoCancel},
		{Method: "POST", Pattern: ac + "/calls/{call_id}/cancel", Auth: authTenant, Summary: "Cancel a scheduled call (POST)", Body: bodyJSON, Handle: s.handleAutoCancel},
		{Method: "GET", Pattern: ac + "/calls/{call_id}/callbacks", Auth: authTenant, Query: []string{"userId"}, Summary: "List a call's callback deliveries", Handle: s.handleAutoCallbacks},
		{Method: "POST", Pattern: ac + "/calls/{call_id}/callbacks/{delivery_id}/replay", Auth: authTenant, Summary: "Send a callback again", Body: bodyJSON, Handle: s.handleAutoReplayCallback},
		{Method: "POST", Pattern: ac + "/callback-secret", Auth: authTenant, Summary: "Rotate the callback secret", Handle: s.handleAutoRotateSecret},

		// Outbound campaigns and the do-not-call list, in campaigns.go.
		{Method: "POST", Pattern: "/api/v1/campaigns", Auth: authTenant, Summary: "Create an outbound campaign", Body: bodyJSON, MaxBody: 16 << 20, Handle: s.handleCreateCampaign},
		{Method: "GET", Pattern: "/api/v1/campaigns", Auth: authTenant, Query: []string{"cursor", "limit"}, Summary: "List campaigns", Handle: s.handleListCampaigns},
		{Method: "GET", Pattern: "/api/v1/campaigns/{campaign_id}", Auth: authTenant, Summary: "Get a campaign and its progress", Handle: s.handleGetCampaign},
		{Method: "POST", Pattern: "/api/v1/campaigns/{campaign_id}/contacts", Auth: authTenant, Summary: "Add contacts to a campaign", Body: bodyJSON, MaxBody: 16 << 20, Handle: s.handleAddCampaignContacts},
		{Method: "POST", Pattern: "/api/v1/campaigns/{campaign_id}/pause", Auth: authTenant, Summary: "Pause a campaign", Handle: s.handlePauseCampaign},
		{Method: "POST", Pattern: "/api/v1/campaigns/{campaign_id}/resume", Auth: authTenant, Summary: "Resume a paused campaign", Handle: s.handleResumeCampaign},
		{Method: "POST", Pattern: "/api/v1/campaigns/{campaign_id}/cancel", Auth: authTenant, Summary: "Cancel a campaign", Handle: s.handleCancelCampaign},
		{Method: "GET", Pattern: "/api/v1/campaigns/{campaign_id}/attempts", Auth: authTenant, Query: []string{"cursor", "limit", "event"}, Summary: "List a campaign's attempts and skips", Handle: s.handleCampaignAttempts},
		{Method: "GET", Pattern: "/api/v1/do-not-call", Auth: authTenant, Query: []string{"cursor", "limit"}, Summary: "List the do-not-call list", Handle: s.handleListDoNotCall},
		{Method: "POST", Pattern: "/api/v1/do-not-call", Auth: authTenant, Summary: "Add a number to the do-not-call list", Body: bodyJSON, Handle: s.handleAddDoNotCall},
		{Method: "DELETE", Pattern: "/api/v1/do-not-call/{number}", Auth: authTenant, Summary: "Take a number off the do-not-call list", Handle: s.handleDeleteDoNotCall},
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

// JSONRoutes lists "METHOD pattern" for the routes that take a JSON body.
func (s *Server) JSONRoutes() []string {
	var out []string
	for _, r := range s.routes() {
		if r.Body == bodyJSON {
			out = append(out, r.Method+" "+r.Pattern)
		}
	}
	return out
}
