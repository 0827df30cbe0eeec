package call_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
)

// FuzzParseCDR feeds ParseCDR arbitrary records: it never panics, a record
// it accepts has a usable uniqueid and sane numbers, and every problem it
// reports is located under the location it was given.
func FuzzParseCDR(f *testing.F) {
	for _, s := range []string{
		`{"uniqueid":"1761295415.900","linkedid":"1761295415.900","src":"+254711000111","dst":"116","start":"2025-10-24 08:43:35","answer":"2025-10-24T08:43:40Z","end":"2025-10-24 08:45:00.5","duration":85,"billsec":"80","disposition":"ANSWERED"}`,
		`{"uniqueid":1761295415.9}`, `{"uniqueid":" a b "}`, `{"uniqueid":""}`, `{}`, `[]`, `null`, `"x"`, `{"uniqueid":"a","start":"0000-00-00 00:00:00"}`,
		`{"uniqueid":"a","duration":-1}`, `{"uniqueid":"a","duration":1e999}`, `{"uniqueid":"a\u00a0b"}`, `{"uniqueid":"a","billsec":"NaN"}`,
		`{"uniqueid":"a","linkedid":"b/c"}`, `{"uniqueid":{"x":1}}`, `{"uniqueid":"a","start":"2025-13-45 99:99:99"}`,
	} {
		f.Add([]byte(s))
	}
	zone := time.FixedZone("EAT", 3*3600)
	f.Fuzz(func(t *testing.T, raw []byte) {
		loc := []string{"body", "3"}
		var errs []callscope.FieldError
		c := call.ParseCDR(json.RawMessage(raw), loc, zone, &errs)
		for _, e := range errs {
			if len(e.Loc) < len(loc) || !slices.Equal(e.Loc[:len(loc)], loc) || e.Msg == "" || e.Type == "" {
				t.Fatalf("field error %+v not under %v", e, loc)
			}
		}
		if c == nil {
			if len(errs) == 0 {
				t.Fatalf("refused %q without saying why", raw)
			}
			return
		}
		if len(errs) > 0 {
			return
		}
		if c.UniqueID == "" || strings.ContainsFunc(c.UniqueID, unicode.IsSpace) || len(c.UniqueID) > 200 {
			t.Fatalf("accepted uniqueid %q of %q", c.UniqueID, raw)
		}
		if strings.ContainsFunc(c.LinkedID, unicode.IsSpace) || len(c.LinkedID) > 200 {
			t.Fatalf("accepted linkedid %q of %q", c.LinkedID, raw)
		}
		for _, n := range []float64{c.Duration, c.BillSec} {
			if !(n >= 0 && n <= 1e7) {
				t.Fatalf("accepted a number %v of %q", n, raw)
			}
		}
	})
}
