package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/callscope/callscope"
)

// todoItem is one of a call's to-dos, as GET /api/v1/calls/{id}/todos
// gives it.
type todoItem struct {
	ID       string  `json:"id"`
	CallID   string  `json:"call_id"`
	Text     string  `json:"text"`
	Status   string  `json:"status"`
	Assignee string  `json:"assignee"`
	DueDate  *string `json:"due_date"`
	Source   string  `json:"source"`
}

// Done reports whether the to-do is done.
func (t todoItem) Done() bool { return t.Status == callscope.TodoDone }

// contactItem is a call's contact, as GET /api/v1/contacts/{id} gives it.
type contactItem struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	PhoneNumbers []string `json:"phone_numbers"`
	Email        string   `json:"email"`
	Organization string   `json:"organization"`
	DoNotCall    bool     `json:"do_not_call"`
}

// callTodos reads a call's to-dos through the API.
func (c *Console) callTodos(ctx context.Context, s *session, callID string) ([]todoItem, error) {
	var ans struct {
		Todos []todoItem `json:"todos"`
	}
	if err := c.call(ctx, s, "GET", "/api/v1/calls/"+url.PathEscape(callID)+"/todos", nil, &ans); err != nil {
		return nil, err
	}
	return ans.Todos, nil
}

// callContact reads a call's contact through the API; nil when the call
// has none or the contact was deleted since.
func (c *Console) callContact(ctx context.Context, s *session, call *callscope.Call) (*contactItem, error) {
	if call.ContactID == "" {
		return nil, nil
	}
	var ct contactItem
	if err := c.call(ctx, s, "GET", "/api/v1/contacts/"+url.PathEscape(call.ContactID), nil, &ct); err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusNotFound {
			return nil, nil
		}
		return nil, err
	}
	return &ct, nil
}

// handleTodoDone marks one of a call's to-dos done.
func (c *Console) handleTodoDone(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	call, err := c.Store.Call(ctx, s.user.TenantID, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if c.API == nil {
		c.fail(w, r, s, callscope.Errorf(callscope.ECONFLICT, "To-dos cannot be changed from this server."))
		return
	}
	todos, err := c.callTodos(ctx, s, call.ID)
	if err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) { c.renderError(w, r, s, http.StatusConflict, "Cannot do that", e.Message) })
		return
	}
	id := r.PathValue("todo_id")
	found := false
	for _, t := range todos {
		found = found || t.ID == id
	}
	if !found {
		c.renderError(w, r, s, http.StatusNotFound, "Not found", "This call has no such to-do.")
		return
	}
	if err := c.call(ctx, s, "PATCH", "/api/v1/todos/"+url.PathEscape(id), map[string]any{"status": callscope.TodoDone}, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) { c.renderError(w, r, s, http.StatusConflict, "Cannot do that", e.Message) })
		return
	}
	c.Logger.Info("console to-do done", "user", s.user.ID, "call", call.ID, "todo", id)
	http.Redirect(w, r, "/calls/"+call.ID+"#todos", http.StatusSeeOther)
}
