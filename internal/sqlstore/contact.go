package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/callscope/callscope"
)

const contactColumns = `id, tenant_id, name, email, organization, time_zone, do_not_call, notes, entered, created_at, updated_at`

func scanContact(r row) (*callscope.Contact, error) {
	var c callscope.Contact
	var entered string
	if err := r.Scan(&c.ID, &c.TenantID, &c.Name, &c.Email, &c.Organization, &c.TimeZone, &c.DoNotCall, &c.Notes,
		&entered, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(entered), &c.Entered); err != nil {
		return nil, err
	}
	c.Numbers, c.Sources = []string{}, map[string]callscope.ContactSource{}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func contactNotFound() error { return callscope.Errorf(callscope.ENOTFOUND, "Contact not found") }

// loadContactDetails reads the contacts' numbers and enrichment sources.
func (q *queries) loadContactDetails(ctx context.Context, list []*callscope.Contact) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[string]*callscope.Contact, len(list))
	args := make([]any, 0, len(list))
	for _, c := range list {
		byID[c.ID] = c
		args = append(args, c.ID)
	}
	in := placeholders(1, len(args))
	rs, err := q.ex.query(ctx, `SELECT contact_id, number FROM contact_numbers WHERE contact_id IN (`+in+`) ORDER BY contact_id, position`, args...)
	if err != nil {
		return err
	}
	for rs.Next() {
		var id, n string
		if err := rs.Scan(&id, &n); err != nil {
			rs.Close()
			return err
		}
		byID[id].Numbers = append(byID[id].Numbers, n)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}
	rs, err = q.ex.query(ctx, `SELECT contact_id, field, call_id, at FROM contact_sources WHERE contact_id IN (`+in+`)`, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var id, field string
		var src callscope.ContactSource
		if err := rs.Scan(&id, &field, &src.CallID, &src.At); err != nil {
			return err
		}
		src.At = src.At.UTC()
		byID[id].Sources[field] = src
	}
	return rs.Err()
}

// checkNumbersFree returns ECONFLICT naming the first of c's numbers that
// another contact of the tenant has.
func (q *queries) checkNumbersFree(ctx context.Context, c *callscope.Contact) error {
	if len(c.Numbers) == 0 {
		return nil
	}
	args := []any{c.TenantID, c.ID}
	for _, n := range c.Numbers {
		args = append(args, n)
	}
	var n string
	err := q.ex.queryRow(ctx, `SELECT number FROM contact_numbers WHERE tenant_id = $1 AND contact_id <> $2
		AND number IN (`+placeholders(3, len(c.Numbers))+`) ORDER BY number LIMIT 1`, args...).Scan(&n)
	switch callscope.ErrorCode(err) {
	case callscope.ENOTFOUND:
		return nil
	case "":
		return callscope.Errorf(callscope.ECONFLICT, "The number %s belongs to another contact", n)
	}
	return err
}

// writeContactDetails replaces the contact's stored numbers and sources
// with c's.
func (q *queries) writeContactDetails(ctx context.Context, c *callscope.Contact) error {
	if err := q.exec(ctx, `DELETE FROM contact_numbers WHERE contact_id = $1`, c.ID); err != nil {
		return err
	}
	for i, n := range c.Numbers {
		err := q.exec(ctx, `INSERT INTO contact_numbers (tenant_id, number, contact_id, position) VALUES ($1, $2, $3, $4)`,
			c.TenantID, n, c.ID, i)
		if callscope.ErrorCode(err) == callscope.ECONFLICT {
			return callscope.Errorf(callscope.ECONFLICT, "The number %s belongs to another contact", n)
		} else if err != nil {
			return err
		}
	}
	if err := q.exec(ctx, `DELETE FROM contact_sources WHERE contact_id = $1`, c.ID); err != nil {
		return err
	}
	fields := make([]string, 0, len(c.Sources))
	for f := range c.Sources {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		src := c.Sources[f]
		if err := q.exec(ctx, `INSERT INTO contact_sources (contact_id, field, call_id, at) VALUES ($1, $2, $3, $4)`,
			c.ID, f, src.CallID, callscope.Timestamp(src.At)); err != nil {
			return err
		}
	}
	return nil
}

func normaliseContact(c *callscope.Contact) {
	c.Name, c.Email, c.Organization = strings.TrimSpace(c.Name), strings.TrimSpace(c.Email), strings.TrimSpace(c.Organization)
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	if c.Numbers == nil {
		c.Numbers = []string{}
	}
	if c.Entered == nil {
		c.Entered = []string{}
	}
	if c.Sources == nil {
		c.Sources = map[string]callscope.ContactSource{}
	}
}

// InsertContact stores a new contact with its numbers and sources, filling
// in ID and timestamps. Run it in a transaction. Returns EINVALID for a
// contact that fails validation and ECONFLICT naming a number another
// contact of the tenant has.
func (q *queries) InsertContact(ctx context.Context, c *callscope.Contact) error {
	normaliseContact(c)
	if err := c.Validate(); err != nil {
		return err
	}
	c.ID = callscope.NewID()
	c.CreatedAt = q.now()
	c.UpdatedAt = c.CreatedAt
	if err := q.checkNumbersFree(ctx, c); err != nil {
		return err
	}
	entered, _ := json.Marshal(c.Entered)
	if err := q.exec(ctx, `INSERT INTO contacts (`+contactColumns+`) VALUES (`+placeholders(1, 11)+`)`,
		c.ID, c.TenantID, c.Name, c.Email, c.Organization, c.TimeZone, c.DoNotCall, c.Notes, string(entered),
		c.CreatedAt, c.UpdatedAt); err != nil {
		return err
	}
	return q.writeContactDetails(ctx, c)
}

// SaveContact writes back a contact read earlier, with its numbers and
// sources, and bumps UpdatedAt. Run it in a transaction. Returns ENOTFOUND
// if it does not exist, EINVALID and ECONFLICT as InsertContact does.
func (q *queries) SaveContact(ctx context.Context, c *callscope.Contact) error {
	normaliseContact(c)
	if err := c.Validate(); err != nil {
		return err
	}
	if err := q.checkNumbersFree(ctx, c); err != nil {
		return err
	}
	c.UpdatedAt = q.now()
	entered, _ := json.Marshal(c.Entered)
	n, err := q.ex.execRows(ctx, `UPDATE contacts SET name = $3, email = $4, organization = $5, time_zone = $6,
		do_not_call = $7, notes = $8, entered = $9, updated_at = $10 WHERE tenant_id = $1 AND id = $2`,
		c.TenantID, c.ID, c.Name, c.Email, c.Organization, c.TimeZone, c.DoNotCall, c.Notes, string(entered), c.UpdatedAt)
	if err != nil {
		return err
	}
	if n == 0 {
		return contactNotFound()
	}
	return q.writeContactDetails(ctx, c)
}

// contactFieldColumns are the columns of the fields enrichment fills.
var contactFieldColumns = map[string]string{callscope.ContactName: "name", callscope.ContactEmail: "email",
	callscope.ContactOrganization: "organization"}

// FillContactField sets one of a contact's EnrichableFields to v and
// records where it came from, only if the field is empty and no person
// entered it, as the stored row says at the time of writing: a person's
// value that arrived since the contact was read is never overwritten. It
// reports whether it filled the field.
func (q *queries) FillContactField(ctx context.Context, c *callscope.Contact, field, v string, src callscope.ContactSource) (bool, error) {
	col, ok := contactFieldColumns[field]
	if !ok {
		return false, callscope.Errorf(callscope.EINVALID, "contact field %q is not filled by enrichment", field)
	}
	now := q.now()
	n, err := q.ex.execRows(ctx, `UPDATE contacts SET `+col+` = $3, updated_at = $4
		WHERE tenant_id = $1 AND id = $2 AND `+col+` = '' AND entered NOT LIKE $5`,
		c.TenantID, c.ID, v, now, `%"`+field+`"%`)
	if err != nil || n == 0 {
		return false, err
	}
	src.At = callscope.Timestamp(src.At)
	if err := q.exec(ctx, `INSERT INTO contact_sources (contact_id, field, call_id, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (contact_id, field) DO UPDATE SET call_id = excluded.call_id, at = excluded.at`,
		c.ID, field, src.CallID, src.At); err != nil {
		return false, err
	}
	c.SetField(field, v)
	if c.Sources == nil {
		c.Sources = map[string]callscope.ContactSource{}
	}
	c.Sources[field] = src
	c.UpdatedAt = now
	return true, nil
}

// CreateContact is InsertContact in a transaction of its own.
func (s *Store) CreateContact(ctx context.Context, c *callscope.Contact) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.InsertContact(ctx, c) })
}

// UpdateContact is SaveContact in a transaction of its own.
func (s *Store) UpdateContact(ctx context.Context, c *callscope.Contact) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.SaveContact(ctx, c) })
}

// DeleteContact removes a tenant's contact; its calls stay, unlinked.
// Returns ENOTFOUND if there is no such contact.
func (s *Store) DeleteContact(ctx context.Context, tenantID, id string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Contact(ctx, tenantID, id); err != nil {
			return err
		}
		for _, st := range []string{`DELETE FROM contact_numbers WHERE contact_id = $2 AND tenant_id = $1`,
			`DELETE FROM contact_sources WHERE contact_id IN (SELECT id FROM contacts WHERE tenant_id = $1 AND id = $2)`,
			`UPDATE calls SET contact_id = '', version = version + 1 WHERE tenant_id = $1 AND contact_id = $2`,
			`DELETE FROM contacts WHERE tenant_id = $1 AND id = $2`} {
			if _, err := tx.ex.execRows(ctx, st, tenantID, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Contact returns a tenant's contact. Returns ENOTFOUND if there is none.
func (q *queries) Contact(ctx context.Context, tenantID, id string) (*callscope.Contact, error) {
	c, err := scanContact(q.ex.queryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, contactNotFound()
	} else if err != nil {
		return nil, err
	}
	return c, q.loadContactDetails(ctx, []*callscope.Contact{c})
}

// ContactByNumber returns the tenant's contact with the given number.
// Returns ENOTFOUND if none has it.
func (q *queries) ContactByNumber(ctx context.Context, tenantID, number string) (*callscope.Contact, error) {
	var id string
	err := q.ex.queryRow(ctx, `SELECT contact_id FROM contact_numbers WHERE tenant_id = $1 AND number = $2`, tenantID, number).Scan(&id)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, contactNotFound()
	} else if err != nil {
		return nil, err
	}
	return q.Contact(ctx, tenantID, id)
}

// Contacts lists the contacts that match f, oldest first, one page at a
// time. Pass the id of the last contact of a page as f.After to get the
// next one.
func (q *queries) Contacts(ctx context.Context, f callscope.ContactFilter) ([]*callscope.Contact, error) {
	if f.TenantID == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "listing contacts needs a tenant")
	}
	where := []string{"c.tenant_id = $1"}
	args := []any{f.TenantID}
	if t := strings.TrimSpace(f.Text); t != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(t))+"%")
		p := "$" + itoa(len(args))
		where = append(where, `(lower(c.name) LIKE `+p+` ESCAPE '\' OR lower(c.email) LIKE `+p+` ESCAPE '\'
			OR lower(c.organization) LIKE `+p+` ESCAPE '\'
			OR EXISTS (SELECT 1 FROM contact_numbers n WHERE n.contact_id = c.id AND n.number LIKE `+p+` ESCAPE '\'))`)
	}
	if f.After != "" {
		args = append(args, f.After)
		where = append(where, "c.id > $"+itoa(len(args)))
	}
	limit := f.Limit
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = 50
	}
	rs, err := q.ex.query(ctx, `SELECT `+prefixColumns("c.", contactColumns)+` FROM contacts c WHERE `+
		strings.Join(where, " AND ")+` ORDER BY c.id LIMIT `+itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	out := []*callscope.Contact{}
	for rs.Next() {
		c, err := scanContact(rs)
		if err != nil {
			rs.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return out, q.loadContactDetails(ctx, out)
}

// ContactCalls lists the calls linked to a contact, newest first, one page
// at a time (after: the id of the last call of the previous page).
func (q *queries) ContactCalls(ctx context.Context, tenantID, contactID, after string, limit int) ([]*callscope.Call, error) {
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = 50
	}
	query := `SELECT ` + callSelect + ` FROM calls WHERE tenant_id = $1 AND contact_id = $2`
	args := []any{tenantID, contactID}
	if after != "" {
		query += ` AND id < $3`
		args = append(args, after)
	}
	rs, err := q.ex.query(ctx, query+` ORDER BY id DESC LIMIT `+itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	return q.scanCalls(ctx, rs)
}

// LinkCallContact links a call to the tenant's contact whose number is the
// call's remote party's, if there is one and the call has no contact yet,
// and sets c.ContactID.
func (q *queries) LinkCallContact(ctx context.Context, c *callscope.Call) error {
	num := c.RemoteNumber()
	if c.ContactID != "" || num == "" {
		return nil
	}
	var id string
	err := q.ex.queryRow(ctx, `SELECT contact_id FROM contact_numbers WHERE tenant_id = $1 AND number = $2`, c.TenantID, num).Scan(&id)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	return q.SetCallContact(ctx, c, id)
}

// SetCallContact links a call to a contact (or unlinks it, with "").
func (q *queries) SetCallContact(ctx context.Context, c *callscope.Call, contactID string) error {
	if err := q.exec(ctx, `UPDATE calls SET contact_id = $3, version = version + 1 WHERE id = $1 AND tenant_id = $2`,
		c.ID, c.TenantID, contactID); err != nil {
		return err
	}
	c.ContactID = contactID
	c.Version++
	return nil
}

const todoColumns = `id, tenant_id, call_id, text, status, assignee, due_date, source, created_at, updated_at`

func scanTodo(r row) (*callscope.Todo, error) {
	var t callscope.Todo
	if err := r.Scan(&t.ID, &t.TenantID, &t.CallID, &t.Text, &t.Status, &t.Assignee, &t.DueDate, &t.Source,
		&t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// validateTodo checks a to-do as it would be stored.
func validateTodo(t *callscope.Todo) error {
	var f []callscope.FieldError
	add := func(msg, typ, field string) {
		f = append(f, callscope.FieldError{Loc: []string{"body", field}, Msg: msg, Type: typ})
	}
	switch {
	case t.Text == "":
		add("Field required", "missing", "text")
	case len(t.Text) > 2000:
		add("String should have at most 2000 characters", "string_too_long", "text")
	}
	if t.Status != callscope.TodoOpen && t.Status != callscope.TodoDone {
		add("Input should be 'open' or 'done'", "enum", "status")
	}
	if len(t.Assignee) > 200 {
		add("String should have at most 200 characters", "string_too_long", "assignee")
	}
	if t.DueDate != "" && !callscope.ValidDate(t.DueDate) {
		add("Input should be a date, YYYY-MM-DD", "date_parsing", "due_date")
	}
	if len(f) > 0 {
		return callscope.ValidationError(f...)
	}
	return nil
}

// CreateTodo stores a to-do of a call, filling in ID, status and
// timestamps. Returns EINVALID for a to-do that fails validation and
// ECONFLICT if the call has a to-do with the same text.
func (q *queries) CreateTodo(ctx context.Context, t *callscope.Todo) error {
	t.Text = strings.TrimSpace(t.Text)
	if t.Status == "" {
		t.Status = callscope.TodoOpen
	}
	if err := validateTodo(t); err != nil {
		return err
	}
	t.ID = callscope.NewID()
	t.CreatedAt = q.now()
	t.UpdatedAt = t.CreatedAt
	err := q.exec(ctx, `INSERT INTO todos (`+todoColumns+`) VALUES (`+placeholders(1, 10)+`)`,
		t.ID, t.TenantID, t.CallID, t.Text, t.Status, t.Assignee, t.DueDate, t.Source, t.CreatedAt, t.UpdatedAt)
	if callscope.ErrorCode(err) == callscope.ECONFLICT {
		return callscope.Errorf(callscope.ECONFLICT, "The call already has the to-do %q", t.Text)
	}
	return err
}

// AddExtractedTodos stores the to-dos found in a call's transcript, each
// once: a to-do whose text the call already has is left as it is, so
// processing a call again adds only new ones. It returns how many it added.
func (q *queries) AddExtractedTodos(ctx context.Context, tenantID, callID string, todos []*callscope.Todo) (int, error) {
	added := 0
	for _, t := range todos {
		t.TenantID, t.CallID, t.Source, t.Status = tenantID, callID, callscope.TodoExtracted, callscope.TodoOpen
		t.Text = strings.TrimSpace(t.Text)
		if len(t.Text) > 2000 {
			t.Text = t.Text[:2000]
		}
		if t.Text == "" {
			continue
		}
		if t.DueDate != "" && !callscope.ValidDate(t.DueDate) {
			t.DueDate = ""
		}
		t.ID = callscope.NewID()
		t.CreatedAt = q.now()
		t.UpdatedAt = t.CreatedAt
		n, err := q.ex.execRows(ctx, `INSERT INTO todos (`+todoColumns+`) VALUES (`+placeholders(1, 10)+`)
			ON CONFLICT (call_id, text) DO NOTHING`,
			t.ID, t.TenantID, t.CallID, t.Text, t.Status, t.Assignee, t.DueDate, t.Source, t.CreatedAt, t.UpdatedAt)
		if err != nil {
			return added, err
		}
		added += int(n)
	}
	return added, nil
}

// Todo returns a tenant's to-do. Returns ENOTFOUND if there is none.
func (q *queries) Todo(ctx context.Context, tenantID, id string) (*callscope.Todo, error) {
	t, err := scanTodo(q.ex.queryRow(ctx, `SELECT `+todoColumns+` FROM todos WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "To-do not found")
	}
	return t, err
}

// Todos lists the to-dos that match f, oldest first, one page at a time.
// Pass the id of the last to-do of a page as f.After to get the next one.
func (q *queries) Todos(ctx context.Context, f callscope.TodoFilter) ([]*callscope.Todo, error) {
	if f.TenantID == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "listing to-dos needs a tenant")
	}
	where := []string{"tenant_id = $1"}
	args := []any{f.TenantID}
	add := func(cond, v string) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+itoa(len(args))))
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Assignee != "" {
		add("assignee = ?", f.Assignee)
	}
	if f.CallID != "" {
		add("call_id = ?", f.CallID)
	}
	if f.DueBefore != "" {
		add("due_date <> '' AND due_date < ?", f.DueBefore)
	}
	if f.After != "" {
		add("id > ?", f.After)
	}
	limit := f.Limit
	if limit <= 0 || limit > callscope.MaxPageSize {
		limit = 50
	}
	rs, err := q.ex.query(ctx, `SELECT `+todoColumns+` FROM todos WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id LIMIT `+itoa(limit), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.Todo{}
	for rs.Next() {
		t, err := scanTodo(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rs.Err()
}

// UpdateTodo writes back a to-do's status, assignee and due date and bumps
// UpdatedAt. Returns EINVALID for values that fail validation and
// ENOTFOUND if the to-do does not exist.
func (q *queries) UpdateTodo(ctx context.Context, t *callscope.Todo) error {
	if err := validateTodo(t); err != nil {
		return err
	}
	t.UpdatedAt = q.now()
	n, err := q.ex.execRows(ctx, `UPDATE todos SET status = $3, assignee = $4, due_date = $5, updated_at = $6
		WHERE tenant_id = $1 AND id = $2`, t.TenantID, t.ID, t.Status, t.Assignee, t.DueDate, t.UpdatedAt)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "To-do not found")
	}
	return err
}
