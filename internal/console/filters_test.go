package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/callscope/callscope"
)

// TestCallFiltersAndPagesWithoutAPI filters the call list by campaign and
// contact from the address, refuses an overlong id, and answers the pages
// that need the API (campaigns, the do-not-call list, marking a to-do done)
// with a 404 page when there is none.
func TestCallFiltersAndPagesWithoutAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ada := &callscope.Contact{TenantID: f.tenant.ID, Name: "Ada", Numbers: []string{"+14155550101"}}
	if err := f.store.CreateContact(ctx, ada); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct{ title, campaign, contact string }{
		{"Spring call", "camp-1", ada.ID}, {"Other spring call", "camp-1", ""}, {"Ada again", "", ada.ID}, {"Nobody", "", ""},
	} {
		c := &callscope.Call{TenantID: f.tenant.ID, Direction: callscope.Outbound, From: "+1", To: "+2", Title: x.title, CampaignID: x.campaign}
		if err := f.store.CreateCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		if x.contact != "" {
			if err := f.store.SetCallContact(ctx, c, x.contact); err != nil {
				t.Fatal(err)
			}
		}
	}
	ck, csrf := f.signIn(t)
	for q, want := range map[string][]string{
		"campaign=camp-1":                   {"Spring call", "Other spring call"},
		"contact=" + ada.ID:                 {"Spring call", "Ada again"},
		"campaign=camp-1&contact=" + ada.ID: {"Spring call"},
	} {
		w := f.do("GET", "/calls?"+q, nil, ck)
		body := w.Body.String()
		if w.Code != 200 {
			t.Fatalf("%s: %d", q, w.Code)
		}
		for _, title := range []string{"Spring call", "Other spring call", "Ada again", "Nobody"} {
			listed := strings.Contains(body, ">"+title+"<")
			if listed != slices.Contains(want, title) {
				t.Errorf("%s: %q listed %v", q, title, listed)
			}
		}
	}
	if w := f.do("GET", "/calls?campaign="+strings.Repeat("x", 65), nil, ck); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("an overlong campaign id: %d", w.Code)
	}
	for _, p := range []string{"/outbound/campaigns", "/outbound/campaigns/x", "/outbound/do-not-call"} {
		if w := f.do("GET", p, nil, ck); w.Code != http.StatusNotFound {
			t.Errorf("GET %s without the API: %d", p, w.Code)
		}
	}
	if w := f.do("POST", "/outbound/do-not-call", url.Values{"csrf_token": {csrf}, "number": {"+14155550101"}}, ck); w.Code != http.StatusNotFound {
		t.Errorf("POST /outbound/do-not-call without the API: %d", w.Code)
	}
}
