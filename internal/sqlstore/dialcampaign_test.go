package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestDialCampaignStore holds the campaign tables to the same behaviour on
// both databases: a campaign reads back as written, contacts are added
// once per number in list order, due contacts come first-call-first, the
// log and the do-not-call list page in order, and another tenant sees
// none of it.
func TestDialCampaignStore(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		tn := sqlstoretest.MustTenant(t, s)
		other := sqlstoretest.MustTenant(t, s)
		c := &callscope.Campaign{TenantID: tn.ID, Name: "ünï 😀", Concurrency: 3, DurationMinutes: 5,
			Redial:        callscope.RedialPolicy{"busy": {DelaySeconds: 60, MaxAttempts: 2}},
			CallingWindow: &callscope.CallingWindow{Start: "09:00", End: "17:00", Days: []string{"mon"}},
			Provider:      map[string]any{"simulate": map[string]any{"outcome": "busy"}}, RecordingEnabled: true}
		must(t, s.CreateCampaign(ctx, c))
		got, err := s.Campaign(ctx, tn.ID, c.ID)
		must(t, err)
		if got.Name != c.Name || got.State != callscope.CampaignRunning || got.Redial["busy"].MaxAttempts != 2 ||
			got.CallingWindow.Days[0] != "mon" || !got.RecordingEnabled || got.TranscriptionEnabled ||
			fmt.Sprint(got.Provider) != "map[simulate:map[outcome:busy]]" {
			t.Fatalf("campaign read back = %+v", got)
		}
		if _, err := s.Campaign(ctx, other.ID, c.ID); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("another tenant's campaign: %v", err)
		}

		in := []callscope.CampaignContactInput{{Phone: "+14155550103", Name: "C", Variables: map[string]string{"plan": "gold"}},
			{Phone: "+14155550101", TimeZone: "Europe/Paris"}, {Phone: "+14155550102"}}
		n, err := s.AddCampaignContacts(ctx, tn.ID, c.ID, in)
		must(t, err)
		if n != 3 {
			t.Fatalf("added %d, want 3", n)
		}
		n, err = s.AddCampaignContacts(ctx, tn.ID, c.ID, append(in[:1:1], callscope.CampaignContactInput{Phone: "+14155550104"}))
		must(t, err)
		if n != 1 {
			t.Fatalf("added %d again, want 1 (the new number)", n)
		}
		now := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
		later := now.Add(time.Hour)
		must(t, s.SetContactState(ctx, tn.ID, c.ID, "+14155550103", callscope.ContactPending, "", &later))
		earlier := now.Add(-time.Minute)
		must(t, s.SetContactState(ctx, tn.ID, c.ID, "+14155550102", callscope.ContactPending, "", &earlier))
		due, err := s.DueCampaignContacts(ctx, tn.ID, c.ID, now, 10)
		must(t, err)
		var order []string
		for _, dc := range due {
			order = append(order, dc.Contact)
		}
		if fmt.Sprint(order) != "[+14155550101 +14155550104 +14155550102]" {
			t.Fatalf("due contacts = %v", order)
		}
		dc, err := s.DialContact(ctx, tn.ID, c.ID, "+14155550103")
		must(t, err)
		if dc.Variables["plan"] != "gold" || dc.Name != "C" || dc.NextAt == nil || !dc.NextAt.Equal(later) || dc.Position != 1 {
			t.Fatalf("contact = %+v", dc)
		}
		must(t, s.SetContactState(ctx, tn.ID, c.ID, "+14155550101", callscope.ContactInProgress, "call-1", nil))
		p, err := s.CampaignProgress(ctx, tn.ID, c.ID)
		must(t, err)
		if p.Contacts != 4 || p.ByState[callscope.ContactPending] != 3 || p.ByState[callscope.ContactInProgress] != 1 || p.ByState[callscope.ContactExhausted] != 0 {
			t.Fatalf("progress = %+v", p)
		}
		due2, err := s.RunningCampaigns(ctx, now, 10)
		must(t, err)
		if len(due2) != 1 || due2[0] != [2]string{tn.ID, c.ID} {
			t.Fatalf("running campaigns with contacts due = %v", due2)
		}

		for i := range 5 {
			must(t, s.LogCampaign(ctx, &callscope.CampaignLogEntry{TenantID: tn.ID, CampaignID: c.ID, Contact: "+14155550101",
				Attempt: i + 1, Event: callscope.LogAttempt, Reason: fmt.Sprint("try ", i)}))
		}
		must(t, s.LogCampaign(ctx, &callscope.CampaignLogEntry{TenantID: tn.ID, CampaignID: c.ID, Contact: "+14155550102",
			Event: callscope.LogSkip, Reason: "dnc"}))
		var reasons []string
		for cursor := ""; ; {
			page, err := s.CampaignLog(ctx, tn.ID, c.ID, callscope.LogAttempt, cursor, 2)
			must(t, err)
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				reasons = append(reasons, e.Reason)
			}
			cursor = page[len(page)-1].ID
		}
		if fmt.Sprint(reasons) != "[try 0 try 1 try 2 try 3 try 4]" {
			t.Fatalf("log pages = %v", reasons)
		}
		if log, err := s.CampaignLog(ctx, other.ID, c.ID, "", "", 10); err != nil || len(log) != 0 {
			t.Fatalf("another tenant's log: %v %v", log, err)
		}

		e, added, err := s.AddDoNotCall(ctx, &callscope.DoNotCallEntry{TenantID: tn.ID, Number: "+14155550102", Source: callscope.DNCSourceAPI, Reason: "r"})
		must(t, err)
		if !added || e.Source != "api" {
			t.Fatalf("added %v %+v", added, e)
		}
		e, added, err = s.AddDoNotCall(ctx, &callscope.DoNotCallEntry{TenantID: tn.ID, Number: "+14155550102", Source: callscope.DNCSourceOptOut, CallID: "x"})
		must(t, err)
		if added || e.Source != "api" {
			t.Fatalf("added twice: %v %+v", added, e)
		}
		_, _, err = s.AddDoNotCall(ctx, &callscope.DoNotCallEntry{TenantID: tn.ID, Number: "+14155550101", Source: callscope.DNCSourceAPI})
		must(t, err)
		page, err := s.DoNotCallList(ctx, tn.ID, "", 1)
		must(t, err)
		page2, err := s.DoNotCallList(ctx, tn.ID, page[0].Number, 5)
		must(t, err)
		if len(page) != 1 || page[0].Number != "+14155550101" || len(page2) != 1 || page2[0].Number != "+14155550102" {
			t.Fatalf("do-not-call pages = %v %v", page, page2)
		}
		if _, err := s.DoNotCall(ctx, other.ID, "+14155550102"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("another tenant's entry: %v", err)
		}
		must(t, s.DeleteDoNotCall(ctx, tn.ID, "+14155550102"))
		if err := s.DeleteDoNotCall(ctx, tn.ID, "+14155550102"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("deleting twice: %v", err)
		}
	})
}
