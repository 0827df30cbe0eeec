// Package contactcsv reads the CSV files of an outbound campaign's
// contacts, for the command line and the web console alike.
package contactcsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/callscope/callscope"
)

// MaxContacts bounds the contacts read from one file (the API's limit
// per request).
const MaxContacts = 100000

// Read reads campaign contacts from CSV: a header naming phone,
// and optionally name and time_zone; every other column is a variable.
// Errors name the line.
func Read(r io.Reader) ([]map[string]any, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the contacts file is empty: it needs a header with a phone column")
	} else if err != nil {
		return nil, fmt.Errorf("contacts file: %w", err)
	}
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "" {
			return nil, fmt.Errorf("contacts file: column %d has no name", i+1)
		}
		if _, dup := cols[h]; dup {
			return nil, fmt.Errorf("contacts file: column %q appears twice", h)
		}
		cols[h] = i
		header[i] = h
	}
	if _, ok := cols["phone"]; !ok {
		return nil, fmt.Errorf("contacts file: the header has no phone column (it has %s)", strings.Join(header, ", "))
	}
	var out []map[string]any
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("contacts file: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(out) == MaxContacts {
			return nil, fmt.Errorf("contacts file: more than %d contacts", MaxContacts)
		}
		c := map[string]any{}
		vars := map[string]string{}
		for i, v := range rec {
			v = strings.TrimSpace(v)
			switch header[i] {
			case "phone":
				if !callscope.ValidE164(v) {
					return nil, fmt.Errorf("contacts file line %d: phone %q is not an E.164 number such as +14155550123", line, v)
				}
				c["phone"] = v
			case "name":
				c["name"] = v
			case "time_zone":
				if v != "" && !callscope.ValidZone(v) {
					return nil, fmt.Errorf("contacts file line %d: %q is not an IANA time zone", line, v)
				}
				if v != "" {
					c["time_zone"] = v
				}
			default:
				vars[header[i]] = v
			}
		}
		if len(vars) > 0 {
			c["variables"] = vars
		}
		out = append(out, c)
	}
	return out, nil
}
