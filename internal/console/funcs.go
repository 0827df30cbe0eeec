package console

import (
	"fmt"
	"html/template"
	"math"
	"time"

	"github.com/callscope/callscope"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// when renders a time in UTC inside <time datetime>, which the
	// script rewrites in the viewer's time zone.
	"when": func(t time.Time) template.HTML {
		if t.IsZero() {
			return "—"
		}
		t = t.UTC()
		return template.HTML(fmt.Sprintf(`<time datetime="%s">%s</time>`, t.Format(time.RFC3339), t.Format("2006-01-02 15:04 UTC")))
	},
	"whenp": func(t *time.Time) template.HTML {
		if t == nil || t.IsZero() {
			return "—"
		}
		u := t.UTC()
		return template.HTML(fmt.Sprintf(`<time datetime="%s">%s</time>`, u.Format(time.RFC3339), u.Format("2006-01-02 15:04 UTC")))
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// dur renders seconds as m:ss or h:mm:ss.
	"dur":  clock,
	"secs": func(s float64) string { return fmt.Sprintf("%.3f", s) },
	"pct":  func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"num":  func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"roles": func() []string {
		return []string{string(callscope.RoleAgent), string(callscope.RoleSupervisor), string(callscope.RoleAdmin)}
	},
	"errfor": func(m map[string]string, k string) string {
		return m[k]
	},
}

// clock renders seconds as m:ss or h:mm:ss.
func clock(s float64) string {
	if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		s = 0
	}
	n := int(min(s, 1e9))
	if n >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", n/3600, n/60%60, n%60)
	}
	return fmt.Sprintf("%d:%02d", n/60, n%60)
}
