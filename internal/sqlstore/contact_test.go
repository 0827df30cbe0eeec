package sqlstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestContacts runs the contact book and to-do behaviours on every backend.
func TestContacts(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		t.Run("Contact", func(t *testing.T) { testContact(t, s) })
		t.Run("Contact/LinkCall", func(t *testing.T) { testContactLinkCall(t, s) })
		t.Run("Contact/Fill", func(t *testing.T) { testContactFill(t, s) })
		t.Run("Todo", func(t *testing.T) { testTodos(t, s) })
		t.Run("Erasure", func(t *testing.T) { testContactErasure(t, s) })
	})
}

func testContact(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	other := sqlstoretest.MustTenant(t, s)
	c := &callscope.Contact{TenantID: tn.ID, Name: " Jane Doe ", Numbers: []string{"+254700000001", "+14155550123"},
		Email: "jane@example.com", Organization: "Acme", TimeZone: "Africa/Nairobi", Notes: "prefers mornings"}
	c.MarkEntered(callscope.ContactName)
	must(t, s.CreateContact(ctx, c))
	if c.ID == "" || c.Name != "Jane Doe" || c.CreatedAt.IsZero() {
		t.Fatalf("created %+v", c)
	}
	got, err := s.Contact(ctx, tn.ID, c.ID)
	must(t, err)
	if got.Name != "Jane Doe" || strings.Join(got.Numbers, ",") != "+254700000001,+14155550123" || got.TimeZone != "Africa/Nairobi" ||
		strings.Join(got.Entered, ",") != "name" || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("read back %+v", got)
	}

	t.Run("ErrNotFound/OtherTenant", func(t *testing.T) {
		if _, err := s.Contact(ctx, other.ID, c.ID); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("other tenant's contact: %v", err)
		}
		if err := s.DeleteContact(ctx, other.ID, c.ID); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("delete other tenant's contact: %v", err)
		}
	})
	t.Run("ErrConflict/Number", func(t *testing.T) {
		dup := &callscope.Contact{TenantID: tn.ID, Name: "Other", Numbers: []string{"+14155550123"}}
		err := s.CreateContact(ctx, dup)
		if callscope.ErrorCode(err) != callscope.ECONFLICT || !strings.Contains(callscope.ErrorMessage(err), "+14155550123") {
			t.Fatalf("taken number: %v", err)
		}
		// Another tenant may have the same number.
		must(t, s.CreateContact(ctx, &callscope.Contact{TenantID: other.ID, Numbers: []string{"+14155550123"}}))
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, bad := range []*callscope.Contact{
			{TenantID: tn.ID, Numbers: []string{"0722000000"}},
			{TenantID: tn.ID, Numbers: []string{"+254700000009", "+254700000009"}},
			{TenantID: tn.ID, TimeZone: "Mars/Olympus"},
			{TenantID: tn.ID, Email: "not an address"},
		} {
			if err := s.CreateContact(ctx, bad); callscope.ErrorCode(err) != callscope.EINVALID {
				t.Errorf("%+v: %v", bad, err)
			}
		}
	})
	t.Run("Search", func(t *testing.T) {
		b := &callscope.Contact{TenantID: tn.ID, Name: "Brian Otieno", Numbers: []string{"+254711111111"}, Email: "brian@example.org"}
		must(t, s.CreateContact(ctx, b))
		for q, want := range map[string]string{"jane": c.ID, "ACME": c.ID, "4155550": c.ID, "brian@": b.ID, "otieno": b.ID, "+2547111": b.ID} {
			list, err := s.Contacts(ctx, callscope.ContactFilter{TenantID: tn.ID, Text: q})
			must(t, err)
			if len(list) != 1 || list[0].ID != want {
				t.Errorf("q=%q: %d contacts", q, len(list))
			}
		}
		page, err := s.Contacts(ctx, callscope.ContactFilter{TenantID: tn.ID, Limit: 1})
		must(t, err)
		if len(page) != 1 || page[0].ID != c.ID {
			t.Fatalf("first page %v", page)
		}
		page, err = s.Contacts(ctx, callscope.ContactFilter{TenantID: tn.ID, Limit: 1, After: page[0].ID})
		must(t, err)
		if len(page) != 1 || page[0].ID != b.ID {
			t.Fatalf("second page %v", page)
		}
		if list, _ := s.Contacts(ctx, callscope.ContactFilter{TenantID: tn.ID, Text: "%"}); len(list) != 0 {
			t.Errorf("%% matched %d contacts", len(list))
		}
	})
	t.Run("Update", func(t *testing.T) {
		got.Numbers = []string{"+14155550123", "+254722222222"}
		got.DoNotCall = true
		must(t, s.UpdateContact(ctx, got))
		again, err := s.Contact(ctx, tn.ID, c.ID)
		must(t, err)
		if strings.Join(again.Numbers, ",") != "+14155550123,+254722222222" || !again.DoNotCall {
			t.Fatalf("updated %+v", again)
		}
		if _, err := s.ContactByNumber(ctx, tn.ID, "+254700000001"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("removed number still found: %v", err)
		}
	})
}

func testContactLinkCall(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	c := &callscope.Contact{TenantID: tn.ID, Name: "Amina", Numbers: []string{"+254733000000"}}
	must(t, s.CreateContact(ctx, c))
	in := &callscope.Call{TenantID: tn.ID, Direction: callscope.Inbound, From: "+254733000000", To: "+254200000000"}
	out := &callscope.Call{TenantID: tn.ID, Direction: callscope.Outbound, From: "+254200000000", To: "+254733000000"}
	stranger := &callscope.Call{TenantID: tn.ID, Direction: callscope.Inbound, From: "+254744000000"}
	for _, call := range []*callscope.Call{in, out, stranger} {
		must(t, s.CreateCall(ctx, call))
		must(t, s.LinkCallContact(ctx, call))
	}
	for _, call := range []*callscope.Call{in, out} {
		got, err := s.Call(ctx, tn.ID, call.ID)
		must(t, err)
		if got.ContactID != c.ID {
			t.Errorf("%s call: contact %q", call.Direction, got.ContactID)
		}
		// Writing the call back keeps its contact.
		got.Title = "changed"
		must(t, s.UpdateCall(ctx, got))
		if again, _ := s.Call(ctx, tn.ID, call.ID); again.ContactID != c.ID {
			t.Errorf("update dropped the contact")
		}
	}
	if got, _ := s.Call(ctx, tn.ID, stranger.ID); got.ContactID != "" {
		t.Errorf("unknown number linked to %q", got.ContactID)
	}
	calls, err := s.ContactCalls(ctx, tn.ID, c.ID, "", 10)
	must(t, err)
	if len(calls) != 2 || calls[0].ID != out.ID || calls[1].ID != in.ID {
		t.Fatalf("contact calls %d", len(calls))
	}
	must(t, s.DeleteContact(ctx, tn.ID, c.ID))
	if got, _ := s.Call(ctx, tn.ID, in.ID); got.ContactID != "" {
		t.Errorf("deleted contact still linked")
	}
}

func testTodos(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	other := sqlstoretest.MustTenant(t, s)
	call := &callscope.Call{TenantID: tn.ID}
	must(t, s.CreateCall(ctx, call))
	extract := func() []*callscope.Todo {
		return []*callscope.Todo{{Text: "refund the second payment", Assignee: "agent", DueDate: "2025-10-25"},
			{Text: "send a confirmation by email", Assignee: "agent", DueDate: "tomorrow"}}
	}
	n, err := s.AddExtractedTodos(ctx, tn.ID, call.ID, extract())
	must(t, err)
	if n != 2 {
		t.Fatalf("added %d", n)
	}
	if n, err := s.AddExtractedTodos(ctx, tn.ID, call.ID, extract()); err != nil || n != 0 {
		t.Fatalf("again: added %d, %v", n, err)
	}
	list, err := s.Todos(ctx, callscope.TodoFilter{TenantID: tn.ID, CallID: call.ID})
	must(t, err)
	if len(list) != 2 || list[0].Status != callscope.TodoOpen || list[0].Source != callscope.TodoExtracted || list[1].DueDate != "" {
		t.Fatalf("listed %+v", list)
	}
	done := list[0]
	done.Status, done.Assignee = callscope.TodoDone, "brian"
	must(t, s.UpdateTodo(ctx, done))
	for _, tc := range []struct {
		f    callscope.TodoFilter
		want int
	}{
		{callscope.TodoFilter{TenantID: tn.ID, Status: callscope.TodoDone}, 1},
		{callscope.TodoFilter{TenantID: tn.ID, Status: callscope.TodoOpen}, 1},
		{callscope.TodoFilter{TenantID: tn.ID, Assignee: "brian"}, 1},
		{callscope.TodoFilter{TenantID: tn.ID, DueBefore: "2025-10-26"}, 1},
		{callscope.TodoFilter{TenantID: tn.ID, DueBefore: "2025-10-25"}, 0},
		{callscope.TodoFilter{TenantID: tn.ID, After: list[0].ID}, 1},
		{callscope.TodoFilter{TenantID: other.ID}, 0},
	} {
		got, err := s.Todos(ctx, tc.f)
		must(t, err)
		if len(got) != tc.want {
			t.Errorf("%+v: %d to-dos, want %d", tc.f, len(got), tc.want)
		}
	}
	if _, err := s.Todo(ctx, other.ID, done.ID); callscope.ErrorCode(err) != callscope.ENOTFOUND {
		t.Errorf("other tenant's to-do: %v", err)
	}
	// Re-processing leaves a completed to-do completed.
	if _, err := s.AddExtractedTodos(ctx, tn.ID, call.ID, extract()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Todo(ctx, tn.ID, done.ID); got.Status != callscope.TodoDone || got.Assignee != "brian" {
		t.Errorf("re-extraction changed %+v", got)
	}
	manual := &callscope.Todo{TenantID: tn.ID, CallID: call.ID, Text: "call back on Friday", Source: callscope.TodoManual}
	must(t, s.CreateTodo(ctx, manual))
	dup := &callscope.Todo{TenantID: tn.ID, CallID: call.ID, Text: "call back on Friday"}
	if err := s.CreateTodo(ctx, dup); callscope.ErrorCode(err) != callscope.ECONFLICT {
		t.Errorf("duplicate to-do: %v", err)
	}
	bad := &callscope.Todo{TenantID: tn.ID, ID: done.ID, Text: done.Text, Status: "later"}
	if err := s.UpdateTodo(ctx, bad); callscope.ErrorCode(err) != callscope.EINVALID {
		t.Errorf("bad status: %v", err)
	}
}

func testContactErasure(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	call := &callscope.Call{TenantID: tn.ID, From: "+254755000000"}
	must(t, s.CreateCall(ctx, call))
	keep := &callscope.Call{TenantID: tn.ID}
	must(t, s.CreateCall(ctx, keep))
	at := time.Date(2025, 10, 24, 8, 0, 0, 0, time.UTC)
	c := &callscope.Contact{TenantID: tn.ID, Name: "Wanjiku", Email: "w@example.com", Numbers: []string{"+254755000000"},
		Sources: map[string]callscope.ContactSource{"email": {CallID: call.ID, At: at}, "name": {CallID: keep.ID, At: at}}}
	must(t, s.CreateContact(ctx, c))
	got, err := s.Contact(ctx, tn.ID, c.ID)
	must(t, err)
	if got.Sources["email"].CallID != call.ID || !got.Sources["email"].At.Equal(at) {
		t.Fatalf("sources %+v", got.Sources)
	}
	_, err = s.AddExtractedTodos(ctx, tn.ID, call.ID, []*callscope.Todo{{Text: "send the form"}})
	must(t, err)
	_, err = s.AddExtractedTodos(ctx, tn.ID, keep.ID, []*callscope.Todo{{Text: "send the form"}})
	must(t, err)
	var removed map[string]int
	must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		removed, _, err = tx.EraseCall(ctx, call.ID)
		return err
	}))
	if removed["todos"] != 1 || removed["contact_sources"] != 1 {
		t.Errorf("removed %v", removed)
	}
	got, err = s.Contact(ctx, tn.ID, c.ID)
	must(t, err)
	if _, ok := got.Sources["email"]; ok || got.Sources["name"].CallID != keep.ID || got.Email != "w@example.com" {
		t.Errorf("after erasure %+v", got)
	}
	if list, _ := s.Todos(ctx, callscope.TodoFilter{TenantID: tn.ID}); len(list) != 1 || list[0].CallID != keep.ID {
		t.Errorf("to-dos after erasure %v", list)
	}
}

func testContactFill(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	call := &callscope.Call{TenantID: tn.ID}
	must(t, s.CreateCall(ctx, call))
	c := &callscope.Contact{TenantID: tn.ID, Name: "Typed", Numbers: []string{"+254766000000"}}
	c.MarkEntered(callscope.ContactName)
	must(t, s.CreateContact(ctx, c))
	stale, err := s.Contact(ctx, tn.ID, c.ID)
	must(t, err)
	// A person enters the e-mail after enrichment read the contact.
	fresh, err := s.Contact(ctx, tn.ID, c.ID)
	must(t, err)
	fresh.Email = "person@example.com"
	fresh.MarkEntered(callscope.ContactEmail)
	must(t, s.UpdateContact(ctx, fresh))
	src := callscope.ContactSource{CallID: call.ID, At: time.Now()}
	for _, tc := range []struct {
		field, v string
		want     bool
	}{{callscope.ContactName, "Said", false}, {callscope.ContactEmail, "said@example.com", false},
		{callscope.ContactOrganization, "Acme", true}} {
		ok, err := s.FillContactField(ctx, stale, tc.field, tc.v, src)
		must(t, err)
		if ok != tc.want {
			t.Errorf("fill %s: %v, want %v", tc.field, ok, tc.want)
		}
	}
	got, err := s.Contact(ctx, tn.ID, c.ID)
	must(t, err)
	if got.Name != "Typed" || got.Email != "person@example.com" || got.Organization != "Acme" ||
		len(got.Sources) != 1 || got.Sources[callscope.ContactOrganization].CallID != call.ID {
		t.Fatalf("after filling: %+v", got)
	}
	if ok, err := s.FillContactField(ctx, got, callscope.ContactOrganization, "Other", src); ok || err != nil {
		t.Fatalf("filled a field that has a value: %v %v", ok, err)
	}
}
