package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleCampaignInBrowser runs an outbound campaign from the console
// in headless Chromium: a number goes on the do-not-call list, a CSV of
// three contacts (one of them that number) is uploaded with the
// simulator's short ring and talk, and the campaign's page shows it
// completed with its counts and attempt log; the number is then taken off
// the list.
func TestConsoleCampaignInBrowser(t *testing.T) {
	b, srv := signedIn(t, "CALLSCOPE_SHUTDOWN_DELAY=0s")
	base := b.base

	b.do("do-not-call page", chromedp.Navigate(base+"/outbound"), chromedp.Click(chromedp.CSS(`a[href="/outbound/do-not-call"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#add-dnc`)))
	b.do("add a bad number", chromedp.SendKeys(chromedp.CSS(`#number`), "0800 123"), chromedp.Click(chromedp.CSS(`#add`)),
		chromedp.WaitVisible(chromedp.CSS(`#add-dnc`)))
	if e := b.eval("error", `(document.querySelector(".form-error")||{}).textContent || ""`).(string); e == "" {
		t.Fatal("a number that is not E.164 was not refused with a message")
	}
	b.do("add a number", chromedp.SetValue(chromedp.CSS(`#number`), "+14155550102"), chromedp.SendKeys(chromedp.CSS(`#reason`), "asked not to be called"),
		chromedp.Click(chromedp.CSS(`#add`)), chromedp.WaitVisible(chromedp.CSS(`#dnc tr[data-number="+14155550102"]`)))

	csv := filepath.Join(t.TempDir(), "spring.csv")
	if err := os.WriteFile(csv, []byte("phone,name,plan\n+14155550101,Ada,gold\n+14155550102,Bo,silver\n+14155550107,Cy,gold\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("campaigns page", chromedp.Navigate(base+"/outbound/campaigns"), chromedp.WaitVisible(chromedp.CSS(`#create-campaign`)))
	// A file without a phone column is refused, naming the problem.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("name\nAda\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("upload a bad file", chromedp.SendKeys(chromedp.CSS(`#name`), "Spring renewals"),
		chromedp.SetUploadFiles(chromedp.CSS(`#contacts`), []string{bad}), chromedp.Click(chromedp.CSS(`#create`)),
		chromedp.WaitVisible(chromedp.CSS(`#contacts-error`)))
	if e := b.text(`#contacts-error`); !strings.Contains(e, "no phone column") {
		t.Fatalf("bad file: %q", e)
	}
	b.do("upload", chromedp.SetUploadFiles(chromedp.CSS(`#contacts`), []string{csv}),
		chromedp.SetValue(chromedp.CSS(`#script`), "Hello {{name}}, about your {{plan}} plan."),
		chromedp.SendKeys(chromedp.CSS(`#ring_seconds`), "1"), chromedp.SendKeys(chromedp.CSS(`#talk_seconds`), "1"),
		chromedp.Click(chromedp.CSS(`#create`)), chromedp.WaitVisible(chromedp.CSS(`#campaign-meta`)))
	deadline := time.Now().Add(90 * time.Second)
	for b.eval("state", `document.getElementById("campaign-meta").dataset.state`) != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("the campaign did not complete: %s\n%s", b.text(`main`), srv.stderr)
		}
		time.Sleep(time.Second)
		b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#campaign-meta`)))
	}
	counts := b.text(`#counts`)
	t.Logf("counts: %s", counts)
	total := b.eval("total", `[...document.querySelectorAll("#counts tr[data-outcome] td")].reduce((n, td) => n + parseInt(td.textContent, 10), 0)`)
	if total != float64(3) {
		t.Fatalf("the counts add up to %v, want 3:\n%s", total, counts)
	}
	log := b.text(`#attempts`)
	if !strings.Contains(log, "+14155550101") || !strings.Contains(log, "+14155550102") || !strings.Contains(log, "skip") {
		t.Fatalf("attempt log:\n%s", log)
	}
	b.shot("campaign.png")
	b.do("list", chromedp.Navigate(base+"/outbound/campaigns"), chromedp.WaitVisible(chromedp.CSS(`#campaigns`)))
	if row := b.text(`#campaigns tbody tr`); !strings.Contains(row, "Spring renewals") || !strings.Contains(row, "completed") {
		t.Fatalf("campaign list row: %s", row)
	}
	b.shot("campaigns.png")

	// The calls list filters by campaign: the two calls placed, not the
	// skipped number's.
	campaignID := b.eval("id", `document.querySelector("#campaigns tbody tr").dataset.campaign`).(string)
	apiCall(t, base, srv.adminKey, "POST", "/api/v1/calls", map[string]any{"call_id": "not-campaign", "direction": "inbound",
		"from": "+15550000000", "to": "+15559870000", "title": "Not in the campaign"}, 201)
	b.do("calls of the campaign", chromedp.Navigate(base+"/calls"), chromedp.WaitVisible(chromedp.CSS(`#campaign`)),
		chromedp.SetValue(chromedp.CSS(`#campaign`), campaignID), chromedp.Submit(chromedp.CSS(`#campaign`)),
		chromedp.WaitVisible(chromedp.CSS(`table.calls`)))
	if n := b.eval("rows", `document.querySelectorAll("table.calls tbody tr").length`); n != float64(2) {
		t.Fatalf("%v calls listed for the campaign, want 2:\n%s", n, b.text(`table.calls`))
	}
	if list := b.text(`table.calls`); strings.Contains(list, "Not in the campaign") {
		t.Fatalf("the campaign filter lists another call:\n%s", list)
	}

	// Another tenant's campaign and do-not-call number are not this
	// tenant's to see.
	other := apiCall(t, base, srv.adminKey, "POST", "/api/v1/tenants", map[string]any{"name": "other"}, 201)
	otherKey := apiCall(t, base, srv.adminKey, "POST", "/api/v1/tenants/"+other["id"].(string)+"/api-keys",
		map[string]any{"name": "other"}, 201)["key"].(string)
	theirs := apiCall(t, base, otherKey, "POST", "/api/v1/campaigns", map[string]any{"name": "Theirs",
		"contacts": []map[string]any{{"phone": "+14155550199"}}}, 201)
	apiCall(t, base, otherKey, "POST", "/api/v1/do-not-call", map[string]any{"number": "+14155550198"}, 201)
	for _, path := range []string{"/outbound/campaigns/" + theirs["id"].(string), "/outbound/campaigns/no-such-campaign"} {
		if st := b.eval("other", `fetch("`+path+`").then(r => r.status)`); st != float64(404) {
			t.Fatalf("GET %s: %v, want 404", path, st)
		}
	}
	b.do("campaigns again", chromedp.Navigate(base+"/outbound/campaigns"), chromedp.WaitVisible(chromedp.CSS(`#campaigns`)))
	if list := b.text(`#campaigns`); strings.Contains(list, "Theirs") {
		t.Fatalf("another tenant's campaign is listed:\n%s", list)
	}

	b.do("remove the number", chromedp.Navigate(base+"/outbound/do-not-call"),
		chromedp.Click(chromedp.CSS(`#dnc tr[data-number="+14155550102"] button.remove`)), chromedp.WaitVisible(chromedp.CSS(`#flash`)))
	if n := b.eval("rows", `document.querySelectorAll("#dnc tr[data-number]").length`); n != float64(0) {
		t.Fatalf("%v numbers left on the list", n)
	}
}
