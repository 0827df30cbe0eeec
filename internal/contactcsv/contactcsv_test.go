package contactcsv

import (
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	got, err := Read(strings.NewReader("\ufeffPhone, Name ,time_zone,plan\n+14155550101,Ada,Europe/London,gold\n+14155550102,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["phone"] != "+14155550101" || got[0]["time_zone"] != "Europe/London" ||
		got[0]["variables"].(map[string]string)["plan"] != "gold" || got[1]["time_zone"] != nil {
		t.Fatalf("contacts = %v", got)
	}
	for in, want := range map[string]string{
		"":                             "empty",
		"name\nAda\n":                  "no phone column",
		"phone,phone\n+1415555010,x\n": "twice",
		"phone\n0800123\n":             "line 2",
		"phone,time_zone\n+14155550101,Mars/Olympus\n": "time zone",
		"phone\n+14155550101,extra\n":                  "wrong number of fields",
	} {
		if _, err := Read(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", in, err, want)
		}
	}
}

// FuzzRead: any file is read or refused with an error, and
// every contact read has a valid phone number.
func FuzzRead(f *testing.F) {
	f.Add("phone,name,time_zone,plan\n+14155550101,Ada,Europe/London,gold\n")
	f.Add("phone\n\"+1415\"\"5550101\"\n")
	f.Add("\ufeffPHONE;name\n+1;x\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Read(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, c := range got {
			if p, _ := c["phone"].(string); !strings.HasPrefix(p, "+") {
				t.Fatalf("contact without a valid phone: %v", c)
			}
		}
	})
}
