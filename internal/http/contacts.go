package http

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// The contact book and call to-dos (seed 003: "Contact — linked via
// contact_id, enriched post-call", "Todo — extracts to-dos from
// transcriptions"). Calls are linked to the contact whose number is the
// remote party's; the pipeline's enrich_contact stage fills empty fields
// from what the caller said, never a field a person entered here.

// contactView is a contact as the API shows it.
type contactView struct {
	ID           string                             `json:"id"`
	Name         string                             `json:"name"`
	PhoneNumbers []string                           `json:"phone_numbers"`
	Email        string                             `json:"email"`
	Organization string                             `json:"organization"`
	TimeZone     string                             `json:"time_zone"`
	DoNotCall    bool                               `json:"do_not_call"`
	Notes        string                             `json:"notes"`
	Sources      map[string]callscope.ContactSource `json:"sources"`
	CreatedAt    string                             `json:"created_at"`
	UpdatedAt    string                             `json:"updated_at"`
}

func newContactView(c *callscope.Contact) contactView {
	v := contactView{ID: c.ID, Name: c.Name, PhoneNumbers: c.Numbers, Email: c.Email, Organization: c.Organization,
		TimeZone: c.TimeZone, DoNotCall: c.DoNotCall, Notes: c.Notes, Sources: c.Sources,
		CreatedAt: c.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: c.UpdatedAt.Format(time.RFC3339Nano)}
	if v.PhoneNumbers == nil {
		v.PhoneNumbers = []string{}
	}
	if v.Sources == nil {
		v.Sources = map[string]callscope.ContactSource{}
	}
	return v
}

// contactInput is the body of POST and PATCH /api/v1/contacts; absent
// fields are nil.
type contactInput struct {
	Name         *string   `json:"name"`
	PhoneNumbers *[]string `json:"phone_numbers"`
	Email        *string   `json:"email"`
	Organization *string   `json:"organization"`
	TimeZone     *string   `json:"time_zone"`
	DoNotCall    *bool     `json:"do_not_call"`
	Notes        *string   `json:"notes"`
}

// apply sets the fields given on c. A name, e-mail or organisation given
// here is the person's: post-call enrichment leaves it alone from then on.
// Clearing one hands it back to enrichment.
func (in contactInput) apply(c *callscope.Contact) {
	for _, f := range []struct {
		name string
		v    *string
	}{{callscope.ContactName, in.Name}, {callscope.ContactEmail, in.Email}, {callscope.ContactOrganization, in.Organization}} {
		if f.v == nil {
			continue
		}
		v := strings.TrimSpace(*f.v)
		c.SetField(f.name, v)
		if v != "" {
			c.MarkEntered(f.name)
		} else {
			c.Entered = removeString(c.Entered, f.name)
			delete(c.Sources, f.name)
		}
	}
	if in.PhoneNumbers != nil {
		c.Numbers = make([]string, len(*in.PhoneNumbers))
		for i, n := range *in.PhoneNumbers {
			c.Numbers[i] = strings.TrimSpace(n)
		}
	}
	if in.TimeZone != nil {
		c.TimeZone = strings.TrimSpace(*in.TimeZone)
	}
	if in.DoNotCall != nil {
		c.DoNotCall = *in.DoNotCall
	}
	if in.Notes != nil {
		c.Notes = *in.Notes
	}
}

func removeString(list []string, v string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// check validates the text of the fields given, before the contact rules
// (numbers, zone, e-mail) the store applies.
func (in contactInput) check() error {
	var f fields
	for _, t := range []struct {
		v    *string
		name string
		max  int
	}{{in.Name, "name", 200}, {in.Email, "email", 254}, {in.Organization, "organization", 200},
		{in.TimeZone, "time_zone", 100}, {in.Notes, "notes", 10000}} {
		if t.v != nil {
			checkText(&f, *t.v, t.max, "body", t.name)
		}
	}
	if in.PhoneNumbers != nil {
		for i, n := range *in.PhoneNumbers {
			checkText(&f, n, 64, "body", "phone_numbers", strconv.Itoa(i))
		}
	}
	return f.err()
}

// pageParams reads the limit and cursor of a cursor-paged listing.
func pageParams(f *fields, r *http.Request) (limit int, cursor string) {
	q := r.URL.Query()
	limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > callscope.MaxPageSize {
			f.add("Input should be a whole number from 1 to "+strconv.Itoa(callscope.MaxPageSize), "value_error", "query", "limit")
		}
		limit = n
	}
	cursor = q.Get("cursor")
	checkID(f, cursor, "query", "cursor")
	return limit, cursor
}

func (s *Server) handleListContacts(w http.ResponseWriter, r *http.Request) error {
	var f fields
	limit, cursor := pageParams(&f, r)
	text := strings.TrimSpace(r.URL.Query().Get("q"))
	checkText(&f, text, 200, "query", "q")
	if err := f.err(); err != nil {
		return err
	}
	list, err := s.Store.Contacts(r.Context(), callscope.ContactFilter{TenantID: tenantID(r), Text: text, After: cursor, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]contactView, len(list))
	for i, c := range list {
		out[i] = newContactView(c)
	}
	var next *string
	if len(list) == limit {
		next = &list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": out, "next_cursor": next, "limit": limit})
	return nil
}

func (s *Server) handleCreateContact(w http.ResponseWriter, r *http.Request) error {
	var in contactInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	c := &callscope.Contact{TenantID: tenantID(r)}
	in.apply(c)
	if err := s.Store.CreateContact(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newContactView(c))
	return nil
}

func (s *Server) handleGetContact(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Store.Contact(r.Context(), tenantID(r), r.PathValue("contact_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newContactView(c))
	return nil
}

// handleUpdateContact changes the fields given.
func (s *Server) handleUpdateContact(w http.ResponseWriter, r *http.Request) error {
	var in contactInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	c, err := s.Store.Contact(r.Context(), tenantID(r), r.PathValue("contact_id"))
	if err != nil {
		return err
	}
	in.apply(c)
	if err := s.Store.UpdateContact(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newContactView(c))
	return nil
}

func (s *Server) handleDeleteContact(w http.ResponseWriter, r *http.Request) error {
	if err := s.Store.DeleteContact(r.Context(), tenantID(r), r.PathValue("contact_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleContactCalls lists the calls linked to a contact, newest first.
func (s *Server) handleContactCalls(w http.ResponseWriter, r *http.Request) error {
	var f fields
	limit, cursor := pageParams(&f, r)
	if err := f.err(); err != nil {
		return err
	}
	tid := tenantID(r)
	c, err := s.Store.Contact(r.Context(), tid, r.PathValue("contact_id"))
	if err != nil {
		return err
	}
	calls, err := s.Store.ContactCalls(r.Context(), tid, c.ID, cursor, limit)
	if err != nil {
		return err
	}
	items := make([]callListItem, len(calls))
	for i, c := range calls {
		start := c.StartedAt
		if start == nil {
			start = &c.CreatedAt
		}
		items[i] = callListItem{CallID: c.PublicID(), ID: c.ID, ExternalIDs: c.ExternalIDs, Status: sessionStatus(c.Status),
			CallStatus: c.Status, Direction: c.Direction, FromNumber: c.From, ToNumber: c.To, StartTime: isoTime(start),
			EndTime: isoTime(c.EndedAt), DurationSeconds: c.DurationSeconds, ProcessingMode: string(c.ProcessingMode),
			ProcessingStatus: string(c.ProcessingStatus), CreatedAt: c.CreatedAt.Format(time.RFC3339Nano)}
	}
	var next *string
	if len(calls) == limit {
		next = &calls[len(calls)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": items, "next_cursor": next, "limit": limit})
	return nil
}

// todoView is a to-do as the API shows it.
type todoView struct {
	ID        string  `json:"id"`
	CallID    string  `json:"call_id"`
	Text      string  `json:"text"`
	Status    string  `json:"status"`
	Assignee  string  `json:"assignee"`
	DueDate   *string `json:"due_date"`
	Source    string  `json:"source"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

func newTodoView(t *callscope.Todo) todoView {
	v := todoView{ID: t.ID, CallID: t.CallID, Text: t.Text, Status: t.Status, Assignee: t.Assignee, Source: t.Source,
		CreatedAt: t.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: t.UpdatedAt.Format(time.RFC3339Nano)}
	if t.DueDate != "" {
		d := t.DueDate
		v.DueDate = &d
	}
	return v
}

func todoViews(list []*callscope.Todo) []todoView {
	out := make([]todoView, len(list))
	for i, t := range list {
		out[i] = newTodoView(t)
	}
	return out
}

// todoCreate is the body of POST /api/v1/todos.
type todoCreate struct {
	CallID   string `json:"call_id"`
	Text     string `json:"text"`
	Assignee string `json:"assignee"`
	DueDate  string `json:"due_date"`
}

// todoUpdate is the body of PATCH /api/v1/todos/{todo_id}: the fields
// given change; "" clears the assignee or due date.
type todoUpdate struct {
	Status   *string `json:"status"`
	Assignee *string `json:"assignee"`
	DueDate  *string `json:"due_date"`
}

func checkTodoText(f *fields, assignee, due *string) {
	if assignee != nil {
		checkText(f, *assignee, 200, "body", "assignee")
	}
	if due != nil && *due != "" && !callscope.ValidDate(*due) {
		f.add("Input should be a date, YYYY-MM-DD", "date_parsing", "body", "due_date")
	}
}

func (s *Server) handleListTodos(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f fields
	limit, cursor := pageParams(&f, r)
	filter := callscope.TodoFilter{TenantID: tenantID(r), Status: q.Get("status"), Assignee: q.Get("assignee"),
		DueBefore: q.Get("due_before"), After: cursor, Limit: limit}
	switch filter.Status {
	case "", callscope.TodoOpen, callscope.TodoDone:
	default:
		f.add("Input should be 'open' or 'done'", "enum", "query", "status")
	}
	checkText(&f, filter.Assignee, 200, "query", "assignee")
	if filter.DueBefore != "" && !callscope.ValidDate(filter.DueBefore) {
		f.add("Input should be a date, YYYY-MM-DD", "date_parsing", "query", "due_before")
	}
	ref := q.Get("call_id")
	checkID(&f, ref, "query", "call_id")
	if err := f.err(); err != nil {
		return err
	}
	if ref != "" {
		// Another tenant's call, or none, selects nothing.
		filter.CallID = ref
		if c, err := s.Store.Call(r.Context(), filter.TenantID, ref); err == nil {
			filter.CallID = c.ID
		} else if callscope.ErrorCode(err) != callscope.ENOTFOUND {
			return err
		}
	}
	list, err := s.Store.Todos(r.Context(), filter)
	if err != nil {
		return err
	}
	var next *string
	if len(list) == limit {
		next = &list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"todos": todoViews(list), "next_cursor": next, "limit": limit})
	return nil
}

// handleCallTodos lists a call's to-dos, oldest first.
func (s *Server) handleCallTodos(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Store.Call(r.Context(), tenantID(r), r.PathValue("call_id"))
	if err != nil {
		return err
	}
	list, err := s.Store.Todos(r.Context(), callscope.TodoFilter{TenantID: c.TenantID, CallID: c.ID, Limit: callscope.MaxPageSize})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"todos": todoViews(list)})
	return nil
}

func (s *Server) handleCreateTodo(w http.ResponseWriter, r *http.Request) error {
	var in todoCreate
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	var f fields
	if in.CallID == "" {
		f.add("Field required", "missing", "body", "call_id")
	}
	checkID(&f, in.CallID, "body", "call_id")
	checkText(&f, in.Text, 2000, "body", "text")
	checkTodoText(&f, &in.Assignee, &in.DueDate)
	if err := f.err(); err != nil {
		return err
	}
	c, err := s.Store.Call(r.Context(), tenantID(r), in.CallID)
	if err != nil {
		return err
	}
	t := &callscope.Todo{TenantID: c.TenantID, CallID: c.ID, Text: in.Text, Assignee: strings.TrimSpace(in.Assignee),
		DueDate: in.DueDate, Source: callscope.TodoManual}
	if err := s.Store.CreateTodo(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newTodoView(t))
	return nil
}

func (s *Server) handleUpdateTodo(w http.ResponseWriter, r *http.Request) error {
	var in todoUpdate
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	var f fields
	checkTodoText(&f, in.Assignee, in.DueDate)
	if err := f.err(); err != nil {
		return err
	}
	t, err := s.Store.Todo(r.Context(), tenantID(r), r.PathValue("todo_id"))
	if err != nil {
		return err
	}
	if in.Status != nil {
		t.Status = *in.Status
	}
	if in.Assignee != nil {
		t.Assignee = strings.TrimSpace(*in.Assignee)
	}
	if in.DueDate != nil {
		t.DueDate = *in.DueDate
	}
	if err := s.Store.UpdateTodo(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newTodoView(t))
	return nil
}
