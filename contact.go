package callscope

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Contact is a person or business in a tenant's contact book. Calls are
// linked to a contact by the remote party's number (Call.ContactID).
type Contact struct {
	ID           string
	TenantID     string
	Name         string
	Numbers      []string // E.164, each naming at most one contact of the tenant
	Email        string
	Organization string
	TimeZone     string // IANA
	DoNotCall    bool
	Notes        string
	// Entered lists the enrichable fields a person set through the API:
	// post-call enrichment never overwrites them.
	Entered []string
	// Sources says, for each field post-call enrichment filled, which call
	// it came from and when.
	Sources   map[string]ContactSource
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Contact fields post-call enrichment fills when they are empty.
const (
	ContactName         = "name"
	ContactEmail        = "email"
	ContactOrganization = "organization"
)

// EnrichableFields lists the contact fields post-call enrichment may fill.
var EnrichableFields = []string{ContactName, ContactEmail, ContactOrganization}

// ContactSource is where an enriched contact field came from.
type ContactSource struct {
	CallID string    `json:"call_id"`
	At     time.Time `json:"at"`
}

// Field returns the value of one of the EnrichableFields.
func (c *Contact) Field(name string) string {
	switch name {
	case ContactName:
		return c.Name
	case ContactEmail:
		return c.Email
	case ContactOrganization:
		return c.Organization
	}
	return ""
}

// SetField sets one of the EnrichableFields.
func (c *Contact) SetField(name, v string) {
	switch name {
	case ContactName:
		c.Name = v
	case ContactEmail:
		c.Email = v
	case ContactOrganization:
		c.Organization = v
	}
}

// MarkEntered records that a person set field through the API; enrichment
// leaves it alone from then on and its enrichment source is dropped.
func (c *Contact) MarkEntered(field string) {
	if !slices.Contains(EnrichableFields, field) {
		return
	}
	if !slices.Contains(c.Entered, field) {
		c.Entered = append(c.Entered, field)
		slices.Sort(c.Entered)
	}
	delete(c.Sources, field)
}

// Validate checks a contact as it would be stored: numbers in E.164 form
// and not repeated, a known time zone, bounded text.
func (c *Contact) Validate() error {
	var f []FieldError
	add := func(msg, typ string, loc ...string) {
		f = append(f, FieldError{Loc: append([]string{"body"}, loc...), Msg: msg, Type: typ})
	}
	if len(c.Numbers) > 20 {
		add("A contact has at most 20 numbers", "too_long", "phone_numbers")
	}
	seen := map[string]bool{}
	for i, n := range c.Numbers {
		switch {
		case !ValidE164(n):
			add("Input should be a phone number in E.164 format, such as +14155550123", "value_error", "phone_numbers", strconv.Itoa(i))
		case seen[n]:
			add("Number "+quote(n)+" is listed twice", "value_error", "phone_numbers", strconv.Itoa(i))
		}
		seen[n] = true
	}
	if c.Email != "" && (len(c.Email) > 254 || !strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " \t\r\n<>")) {
		add("Input should be an e-mail address", "value_error", "email")
	}
	if c.TimeZone != "" && !ValidZone(c.TimeZone) {
		add("Unknown IANA time zone "+quote(c.TimeZone), "value_error", "time_zone")
	}
	for _, t := range []struct {
		v, name string
		max     int
	}{{c.Name, "name", 200}, {c.Organization, "organization", 200}, {c.Notes, "notes", 10000}} {
		if len(t.v) > t.max {
			add("String should have at most "+strconv.Itoa(t.max)+" characters", "string_too_long", t.name)
		}
	}
	if len(f) > 0 {
		return ValidationError(f...)
	}
	return nil
}

// ContactFilter selects contacts in a listing.
type ContactFilter struct {
	TenantID string // required
	// Text selects contacts whose name, e-mail, organisation or one of
	// whose numbers contains it, ignoring case (ASCII case only on
	// SQLite, as in call search).
	Text string
	// After is a cursor: the id of the last contact of the previous page.
	After string
	Limit int
}

// ContactEnrichedData is the payload of contact.enriched: post-call
// enrichment filled empty fields of a contact (or created it) from a call.
type ContactEnrichedData struct {
	CallRefData
	ContactID string   `json:"contact_id"`
	Fields    []string `json:"fields"`
	Created   bool     `json:"created"`
}

// EventType implements EventData.
func (ContactEnrichedData) EventType() string { return EventContactEnriched }

// EventContactEnriched: post-call enrichment filled a contact's fields.
const EventContactEnriched = "contact.enriched"

// To-do statuses.
const (
	TodoOpen = "open"
	TodoDone = "done"
)

// To-do sources.
const (
	TodoExtracted = "extracted" // found in the transcript by the pipeline
	TodoManual    = "manual"    // added by a person
)

// Todo is a commitment or request of a call, to be done by someone.
// Re-processing a call does not duplicate its extracted to-dos: a call has
// at most one to-do with a given text.
type Todo struct {
	ID       string
	TenantID string
	CallID   string
	Text     string
	Status   string // TodoOpen or TodoDone
	Assignee string
	// DueDate is a calendar date, YYYY-MM-DD, or "".
	DueDate   string
	Source    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TodoFilter selects to-dos in a listing. Zero fields select everything.
type TodoFilter struct {
	TenantID string // required
	Status   string
	Assignee string
	CallID   string
	// DueBefore selects to-dos due before this date (YYYY-MM-DD).
	DueBefore string
	// After is a cursor: the id of the last to-do of the previous page.
	After string
	Limit int
}

// ValidDate reports whether s is a calendar date, YYYY-MM-DD.
func ValidDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// RemoteNumber is the other party's number: the caller's for an inbound
// call, the number called for an outbound one.
func (c *Call) RemoteNumber() string {
	if c.Direction == Outbound {
		return c.To
	}
	return c.From
}
