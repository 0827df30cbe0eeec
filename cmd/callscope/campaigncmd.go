package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/contactcsv"
)

const campaignUsage = `callscope campaign create|list|status|attempts|pause|resume|cancel — outbound campaigns on a running server

  callscope campaign create --contacts FILE.csv [--name NAME] [--concurrency N] [--redial 'busy=10m*3,no_answer=1h*2']
                            [--window 09:00-17:00] [--days mon,tue,…] [--time-zone ZONE] [--script TEXT]
                            [--title TEXT] [--purpose TEXT] [--user ID] [--minutes N]
  callscope campaign list [--limit N]
  callscope campaign status CAMPAIGN_ID
  callscope campaign attempts [--limit N] CAMPAIGN_ID
  callscope campaign pause|resume|cancel CAMPAIGN_ID

The contacts file is CSV with a header: phone (E.164), name, time_zone (IANA,
optional); every other column is a script variable ({{column}} in --script).
Redial rules name an outcome (busy, no_answer, voicemail, failed), the delay
before the next call and the most calls a contact gets in all.

The server is CALLSCOPE_URL (default http://CALLSCOPE_ADDR), the API key
CALLSCOPE_API_KEY.
`

// parseWindow reads "09:00-17:00" and the days "mon,tue".
func parseWindow(w, days string) (map[string]any, error) {
	if w == "" {
		if days != "" {
			return nil, fmt.Errorf("--days needs --window")
		}
		return nil, nil
	}
	start, end, ok := strings.Cut(w, "-")
	if !ok {
		return nil, fmt.Errorf("--window %q: want START-END, e.g. 09:00-17:00", w)
	}
	out := map[string]any{"start": strings.TrimSpace(start), "end": strings.TrimSpace(end)}
	if days != "" {
		var ds []string
		for _, d := range strings.Split(days, ",") {
			ds = append(ds, strings.ToLower(strings.TrimSpace(d)))
		}
		out["days"] = ds
	}
	return out, nil
}

func cmdCampaign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, campaignUsage)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	fs, _ := newFlags("campaign "+sub, strings.TrimSpace(campaignUsage), stderr)
	server := fs.String("url", "", "server `URL` (default CALLSCOPE_URL)")
	key := fs.String("key", "", "API `KEY` (default CALLSCOPE_API_KEY)")
	var contacts, name, redial, window, days, zone, script, title, purpose, user *string
	var concurrency, minutes, limit *int
	switch sub {
	case "create":
		contacts = fs.String("contacts", "", "contacts `FILE.csv` (header: phone,name,time_zone,…variables)")
		name = fs.String("name", "", "campaign `NAME` (default the file's name)")
		concurrency = fs.Int("concurrency", 5, "at most `N` calls at once")
		redial = fs.String("redial", "", "redial `RULES`, e.g. 'busy=10m*3,no_answer=1h*2'")
		window = fs.String("window", "", "calling `WINDOW` in each contact's time zone, e.g. 09:00-17:00")
		days = fs.String("days", "", "`DAYS` calls may start, e.g. mon,tue,wed,thu,fri")
		zone = fs.String("time-zone", "", "the contacts' IANA time `ZONE` when the file names none")
		script = fs.String("script", "", "script `TEXT` ({{contactName}} and the file's columns are filled in)")
		title = fs.String("title", "", "the calls' `TITLE` (default the name)")
		purpose = fs.String("purpose", "", "purpose `TEXT`")
		user = fs.String("user", "", "the Auto-Caller `userId` the calls are listed under")
		minutes = fs.Int("minutes", 15, "hang up after `N` minutes of talk")
	case "list", "attempts":
		limit = fs.Int("limit", 50, "at most `N` entries")
	case "status", "pause", "resume", "cancel":
	default:
		fmt.Fprint(stderr, campaignUsage)
		return errUsage
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	needID := sub != "create" && sub != "list"
	if needID && fs.NArg() != 1 {
		fmt.Fprintf(stderr, "callscope campaign %s: give one CAMPAIGN_ID\n", sub)
		return errUsage
	}
	var body map[string]any
	if sub == "create" {
		if *contacts == "" {
			fmt.Fprintln(stderr, "callscope campaign create: --contacts is required")
			return errUsage
		}
		f, err := os.Open(*contacts)
		if err != nil {
			return err
		}
		list, err := contactcsv.Read(f)
		f.Close()
		if err != nil {
			return err
		}
		rules, err := callscope.ParseRedial(*redial)
		if err != nil {
			fmt.Fprintf(stderr, "callscope campaign create: --redial: %s\n", callscope.ErrorMessage(err))
			return errUsage
		}
		win, err := parseWindow(*window, *days)
		if err != nil {
			fmt.Fprintf(stderr, "callscope campaign create: %v\n", err)
			return errUsage
		}
		if *name == "" {
			*name = strings.TrimSuffix(filepath.Base(*contacts), filepath.Ext(*contacts))
		}
		body = map[string]any{"name": *name, "concurrency": *concurrency, "redial": rules, "duration_minutes": *minutes,
			"contacts": list}
		if win != nil {
			body["calling_window"] = win
		}
		for k, v := range map[string]string{"time_zone": *zone, "script": *script, "title": *title, "purpose": *purpose, "user_id": *user} {
			if v != "" {
				body[k] = v
			}
		}
	}
	c, err := apiClientFromEnv(*server, *key)
	if err != nil {
		return err
	}
	var path string
	if needID {
		path = "/api/v1/campaigns/" + url.PathEscape(fs.Arg(0))
	}
	switch sub {
	case "create":
		m, err := c.do(ctx, "POST", "/api/v1/campaigns", body)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\t%d contacts\n", m["id"], m["state"], len(body["contacts"].([]map[string]any)))
	case "list":
		m, err := c.do(ctx, "GET", "/api/v1/campaigns?limit="+fmt.Sprint(*limit), nil)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CAMPAIGN ID\tSTATE\tCONTACTS\tATTEMPTS\tPENDING\tIN PROGRESS\tCOMPLETED\tNAME")
		list, _ := m["campaigns"].([]any)
		for _, x := range list {
			cm, _ := x.(map[string]any)
			p, _ := cm["progress"].(map[string]any)
			counts, _ := p["counts"].(map[string]any)
			fmt.Fprintf(tw, "%v\t%v\t%v\t%v\t%v\t%v\t%v\t%v\n", cm["id"], cm["state"], p["contacts"], p["attempts"],
				counts["pending"], counts["in_progress"], counts["completed"], cm["name"])
		}
		return tw.Flush()
	case "status", "pause", "resume", "cancel":
		method := "GET"
		if sub != "status" {
			method, path = "POST", path+"/"+sub
		}
		m, err := c.do(ctx, method, path, nil)
		if err != nil {
			return err
		}
		p, _ := m["progress"].(map[string]any)
		counts, _ := p["counts"].(map[string]any)
		fmt.Fprintf(stdout, "%v  %v  %v\n", m["id"], m["state"], m["name"])
		fmt.Fprintf(stdout, "contacts %v, attempts %v\n", p["contacts"], p["attempts"])
		states := make([]string, 0, len(counts))
		for k := range counts {
			states = append(states, k)
		}
		order := map[string]int{}
		for i, s := range callscope.ContactStates {
			order[s] = i
		}
		sort.Slice(states, func(i, j int) bool { return order[states[i]] < order[states[j]] })
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, s := range states {
			fmt.Fprintf(tw, "  %s\t%v\n", s, counts[s])
		}
		return tw.Flush()
	case "attempts":
		m, err := c.do(ctx, "GET", path+"/attempts?limit="+fmt.Sprint(*limit), nil)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tEVENT\tCONTACT\tATTEMPT\tOUTCOME\tCALL ID\tREASON")
		list, _ := m["attempts"].([]any)
		for _, x := range list {
			a, _ := x.(map[string]any)
			fmt.Fprintf(tw, "%v\t%v\t%v\t%v\t%v\t%v\t%v\n", a["at"], a["event"], a["contact"], a["attempt"], a["outcome"], a["call_id"], a["reason"])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if next, _ := m["next_cursor"].(string); next != "" {
			b, _ := json.Marshal(next)
			fmt.Fprintf(stdout, "more: GET %s/attempts?cursor=%s\n", path, strings.Trim(string(b), `"`))
		}
	}
	return nil
}
