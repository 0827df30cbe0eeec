// Package jsonx encodes JSON documents held as raw fields faster than
// encoding/json does: encoding a map of json.RawMessage with json.Marshal
// checks and compacts every value twice and sorts keys by reflection, and
// the call record's documents are encoded on every write.
package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Object encodes m as a JSON object with its keys in order, each value
// compacted, and checked, once. A nil or empty value encodes as null. It
// returns an error naming the key of a value that is not JSON.
func Object(m map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	sort.Strings(keys)
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeKey(buf, k)
		buf.WriteByte(':')
		v := m[k]
		if len(v) == 0 {
			buf.WriteString("null")
			continue
		}
		if err := json.Compact(buf, v); err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// writeKey writes k as a JSON string: as it is when it is plain ASCII with
// nothing to escape, through encoding/json otherwise.
func writeKey(buf *bytes.Buffer, k string) {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(k) // strings always encode
			buf.Write(b)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(k)
	buf.WriteByte('"')
}
