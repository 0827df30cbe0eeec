package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// pageSize is the number of calls on one page of the list.
const pageSize = 50

// maxOffset bounds the pages of sorts that cannot use a cursor.
const maxOffset = 10000

// activeStatuses are the statuses of a call under way.
var activeStatuses = []callscope.CallStatus{callscope.CallInitiating, callscope.CallRinging, callscope.CallInProgress, callscope.CallEnding}

func isActive(s callscope.CallStatus) bool { return slices.Contains(activeStatuses, s) }

// sorts are the list's orders; the first two page with a cursor.
var sorts = []struct {
	Value, Label, Sort string
	Asc                bool
}{
	{"newest", "Newest first", callscope.SortCreatedAt, false},
	{"oldest", "Oldest first", callscope.SortCreatedAt, true},
	{"longest", "Longest first", callscope.SortDuration, false},
	{"shortest", "Shortest first", callscope.SortDuration, true},
}

// risks are the risk levels a call can be filtered by.
var risks = []string{"low", "medium", "high"}

// callFilter is the list's form, as the user filled it in.
type callFilter struct {
	Q, Status, Direction, From, To, Category, Risk, Sort string
	// Campaign and Contact are a campaign's and a contact's ids.
	Campaign, Contact string
}

// any reports whether any filter is set.
func (f callFilter) any() bool {
	return f.Q != "" || f.Status != "" || f.Direction != "" || f.From != "" || f.To != "" || f.Category != "" || f.Risk != "" ||
		f.Campaign != "" || f.Contact != ""
}

// values is the filter as query parameters, without the page.
func (f callFilter) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"q", f.Q}, {"status", f.Status}, {"direction", f.Direction}, {"from", f.From},
		{"to", f.To}, {"category", f.Category}, {"risk", f.Risk}, {"campaign", f.Campaign}, {"contact", f.Contact}, {"sort", f.Sort}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// callRow is one call of the list.
type callRow struct {
	ID, From, To, Title string
	Direction           string
	Status              string
	Live                bool
	Started             time.Time
	Duration            float64
	Category, Risk      string
	HasRecording        bool
}

// callsPage is the list page's content.
type callsPage struct {
	Filter    callFilter
	Errors    map[string]string
	Rows      []callRow
	NextURL   string
	FirstURL  string
	AnyFilter bool
	Statuses  []callscope.CallStatus
	Risks     []string
	Sorts     any
	// Campaigns and Contacts are the choices of the campaign and contact
	// filters (read through the API when it is set).
	Campaigns []option
	Contacts  []option
}

// option is one choice of a filter.
type option struct {
	Value, Label string
}

// classificationFields reads the category and risk of a classification
// document, whatever else it holds.
func classificationFields(raw json.RawMessage) (category, label, risk string) {
	if len(raw) == 0 {
		return "", "", ""
	}
	var v struct {
		Category string `json:"category"`
		Label    string `json:"label"`
		Risk     string `json:"risk"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.Category, v.Label, v.Risk
}

func startOf(c *callscope.Call) time.Time {
	if c.StartedAt != nil {
		return *c.StartedAt
	}
	return c.CreatedAt
}

func (c *Console) handleCalls(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := callFilter{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Direction: q.Get("direction"), From: q.Get("from"),
		To: q.Get("to"), Category: strings.TrimSpace(q.Get("category")), Risk: q.Get("risk"), Sort: q.Get("sort"),
		Campaign: strings.TrimSpace(q.Get("campaign")), Contact: strings.TrimSpace(q.Get("contact"))}
	p := callsPage{Filter: f, Errors: map[string]string{}, AnyFilter: f.any(), Statuses: callscope.CallStatuses, Risks: risks, Sorts: sorts}
	cq := callscope.CallQuery{CallFilter: callscope.CallFilter{TenantID: s.user.TenantID, Limit: pageSize}}
	if len(f.Q) > 200 {
		p.Errors["q"] = "Search for at most 200 characters."
	}
	cq.Text = f.Q
	if f.Status != "" {
		if !callscope.CallStatus(f.Status).Valid() {
			p.Errors["status"] = "Choose a status from the list."
		} else {
			cq.Status = []callscope.CallStatus{callscope.CallStatus(f.Status)}
		}
	}
	if f.Direction != "" {
		if !callscope.Direction(f.Direction).Valid() {
			p.Errors["direction"] = "Choose inbound or outbound."
		}
		cq.Direction = callscope.Direction(f.Direction)
	}
	day := func(name, v string, next bool) *time.Time {
		if v == "" {
			return nil
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			p.Errors[name] = "Give a date as YYYY-MM-DD."
			return nil
		}
		if next {
			t = t.AddDate(0, 0, 1)
		}
		return &t
	}
	cq.CreatedFrom, cq.CreatedTo = day("from", f.From, false), day("to", f.To, true)
	if cq.CreatedFrom != nil && cq.CreatedTo != nil && !cq.CreatedTo.After(*cq.CreatedFrom) {
		p.Errors["to"] = "The end date is before the start date."
	}
	if len(f.Category) > 100 {
		p.Errors["category"] = "Give at most 100 characters."
	}
	cq.Category = f.Category
	if f.Risk != "" && !slices.Contains(risks, f.Risk) {
		p.Errors["risk"] = "Choose a risk level from the list."
	}
	cq.Risk = f.Risk
	for _, x := range []struct{ name, v string }{{"campaign", f.Campaign}, {"contact", f.Contact}} {
		if len(x.v) > 64 {
			p.Errors[x.name] = "Choose one from the list."
		}
	}
	cq.CampaignID, cq.ContactID = f.Campaign, f.Contact
	if c.API != nil {
		p.Campaigns, p.Contacts = c.filterChoices(r, s, f)
	}
	cursor := true
	switch f.Sort {
	case "", "newest":
		f.Sort = ""
	default:
		found := false
		for _, so := range sorts {
			if so.Value == f.Sort {
				cq.Sort, cq.Ascending, found = so.Sort, so.Asc, true
				cursor = so.Sort == callscope.SortCreatedAt
			}
		}
		if !found {
			p.Errors["sort"] = "Choose an order from the list."
		}
	}
	p.Filter = f
	if v := q.Get("after"); v != "" && cursor {
		if len(v) > 64 {
			p.Errors["after"] = "This page link is broken; go back to the first page."
		}
		cq.After = v
	}
	offset := 0
	if v := q.Get("offset"); v != "" && !cursor {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			p.Errors["offset"] = "This page link is broken; go back to the first page."
		}
		offset = n
		cq.Offset = n
	}
	status := http.StatusOK
	if len(p.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		calls, err := c.Store.SearchCalls(r.Context(), cq)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		ids := make([]string, len(calls))
		for i, x := range calls {
			ids[i] = x.ID
		}
		rec, err := c.Store.CallsWithRecordings(r.Context(), ids)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		for _, x := range calls {
			cat, label, risk := classificationFields(x.Classification)
			if label != "" {
				cat = label
			}
			p.Rows = append(p.Rows, callRow{ID: x.ID, From: x.From, To: x.To, Title: x.Title, Direction: string(x.Direction),
				Status: string(x.Status), Live: isActive(x.Status), Started: startOf(x), Duration: x.DurationSeconds,
				Category: cat, Risk: risk, HasRecording: rec[x.ID]})
		}
		if len(calls) == pageSize {
			v := f.values()
			if cursor {
				v.Set("after", calls[len(calls)-1].ID)
			} else if offset+pageSize <= maxOffset {
				v.Set("offset", strconv.Itoa(offset+pageSize))
			}
			if v.Has("after") || v.Has("offset") {
				p.NextURL = "/calls?" + v.Encode()
			}
		}
		if cq.After != "" || offset > 0 {
			p.FirstURL = "/calls"
			if v := f.values(); len(v) > 0 {
				p.FirstURL += "?" + v.Encode()
			}
		}
	}
	c.render(w, r, "calls", status, page{Title: "Calls", Nav: "calls", User: s.user, CSRF: s.sess.CSRFToken, Content: p})
}

// livePage is the live page's content.
type livePage struct {
	Rows []callRow
}

func (c *Console) handleLive(w http.ResponseWriter, r *http.Request, s *session) {
	calls, err := c.Store.SearchCalls(r.Context(), callscope.CallQuery{CallFilter: callscope.CallFilter{TenantID: s.user.TenantID,
		Status: activeStatuses, Limit: callscope.MaxPageSize}})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	var p livePage
	for _, x := range calls {
		cat, label, risk := classificationFields(x.Classification)
		if cat == "" && risk == "" {
			// A call under way is classified by its progressive analysis.
			snaps, err := c.Store.Evolution(r.Context(), x.ID, callscope.EvolutionClassification)
			if err != nil {
				c.fail(w, r, s, err)
				return
			}
			if n := len(snaps); n > 0 {
				cat, label, risk = classificationFields(snaps[n-1].Data)
			}
		}
		if label != "" {
			cat = label
		}
		p.Rows = append(p.Rows, callRow{ID: x.ID, From: x.From, To: x.To, Title: x.Title, Direction: string(x.Direction),
			Status: string(x.Status), Live: true, Started: startOf(x), Duration: max(x.DurationSeconds, c.Now().Sub(startOf(x)).Seconds()),
			Category: cat, Risk: risk})
	}
	c.render(w, r, "live", http.StatusOK, page{Title: "Live calls", Nav: "live", User: s.user, CSRF: s.sess.CSRFToken, Content: p})
}

// filterChoices lists the tenant's campaigns and contacts for the list's
// filters, the chosen ones always among them. A failure leaves a list
// empty: the filters still work from the address.
func (c *Console) filterChoices(r *http.Request, s *session, f callFilter) (campaigns, contacts []option) {
	var cs struct {
		Campaigns []campaignItem `json:"campaigns"`
	}
	if err := c.call(r.Context(), s, "GET", "/api/v1/campaigns?limit=100", nil, &cs); err != nil {
		c.Logger.Warn("console campaigns not listed", "error", err)
	}
	for _, x := range cs.Campaigns {
		campaigns = append(campaigns, option{x.ID, x.Name})
	}
	var ct struct {
		Contacts []contactItem `json:"contacts"`
	}
	if err := c.call(r.Context(), s, "GET", "/api/v1/contacts?limit=100", nil, &ct); err != nil {
		c.Logger.Warn("console contacts not listed", "error", err)
	}
	for _, x := range ct.Contacts {
		label := x.Name
		if label == "" && len(x.PhoneNumbers) > 0 {
			label = x.PhoneNumbers[0]
		}
		contacts = append(contacts, option{x.ID, label})
	}
	with := func(list []option, v string) []option {
		if v == "" || slices.ContainsFunc(list, func(o option) bool { return o.Value == v }) {
			return list
		}
		return append(list, option{v, v})
	}
	return with(campaigns, f.Campaign), with(contacts, f.Contact)
}
